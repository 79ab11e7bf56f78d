-- Demo data for the built-in private database: a registry in Melbourne.
UPDATE registry SET name = 'Demo CPD registry', time_zone = 'Australia/Melbourne';
