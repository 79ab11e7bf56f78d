-- Renewals in the demo (issue 13). CMA: renewed within 30 days of each membership year, and no
-- carry-over after a late one. NCBTMB: renewed by the end of each two-year cycle, and after a late
-- renewal only education dated after its approval counts. The members of both renewed on time.
UPDATE scheme SET renewal_due_days = 30, late_renewal = 'forfeit_carry_over' WHERE code = 'CMA';
UPDATE scheme SET renewal_due_days = 0, late_renewal = 'count_after_approval' WHERE code = 'NCBTMB';
INSERT INTO renewal (practitioner, cycle_start, cycle_end, submitted, submitted_by, approved, approved_by) VALUES
    ('P-1009', '2025-10-17', '2026-10-16', '2026-10-20', 'demo', '2026-10-22', 'demo'),
    ('P-1008', '2023-01-01', '2024-12-31', '2024-12-31', 'demo', '2025-01-06', 'demo');
