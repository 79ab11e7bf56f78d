-- Massage Australia (issue 13): 20 points a year, which may be built over three years, and evidence
-- older than three years no longer counts: a rolling window of 36 months that must hold 60.
-- P-1013 holds 62 in the window to 2026-11-21, the 8 from October 2023 having aged out: at risk,
-- since on 2027-02-03 the 12 from 3 February 2024 leave the window too, leaving 50 (non-compliant then unless
-- more is earned).
INSERT INTO scheme (code, title, period, length_months, anchor, start_text, required, carry_over_max, opening_balance, pro_rata) VALUES
    ('MA', 'Massage Australia (demo)', 'rolling', 36, NULL, NULL, 60, NULL, NULL, 'none');

INSERT INTO practitioner (id, name, scheme, joined, modalities) VALUES
    ('P-1013', 'Noah Tanaka', 'MA', '2021-05-03', '{remedial,bowen}');

INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1013', 'completion', 8, '2023-10-14', 'NMT-ANX', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-61', 'completion.record practitioner=P-1013 course=NMT-ANX completed=2023-10-14'),  -- 61
    ('P-1013', 'completion', 12, '2024-02-03', 'BOW-BASICS', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-62', 'completion.record practitioner=P-1013 course=BOW-BASICS completed=2024-02-03'),  -- 62
    ('P-1013', 'completion', 8, '2024-06-20', 'NMT-ANX', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-63', 'completion.record practitioner=P-1013 course=NMT-ANX completed=2024-06-20'),  -- 63
    ('P-1013', 'completion', 7, '2024-11-09', 'MYO-NECK', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-64', 'completion.record practitioner=P-1013 course=MYO-NECK completed=2024-11-09'),  -- 64
    ('P-1013', 'completion', 12, '2025-03-15', 'BOW-BASICS', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-65', 'completion.record practitioner=P-1013 course=BOW-BASICS completed=2025-03-15'),  -- 65
    ('P-1013', 'completion', 8, '2025-08-30', 'NMT-ANX', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-66', 'completion.record practitioner=P-1013 course=NMT-ANX completed=2025-08-30'),  -- 66
    ('P-1013', 'completion', 12, '2026-02-21', 'BOW-BASICS', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-67', 'completion.record practitioner=P-1013 course=BOW-BASICS completed=2026-02-21'),  -- 67
    ('P-1013', 'completion', 3, '2026-09-12', 'MH-EVID', 1, 'mental_health', 'online', NULL, NULL, 'demo', 'demo-68', 'completion.record practitioner=P-1013 course=MH-EVID completed=2026-09-12');  -- 68
