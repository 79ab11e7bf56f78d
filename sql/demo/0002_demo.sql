-- Demo data: a small catalogue, schemes modelled on real CPD policies, practitioners and their ledger.
-- The demo "today" is 2026-11-21 (Australia/Melbourne, see 0001_registry.sql): every completion is dated
-- 2026-11-20 or earlier. No BEGIN/COMMIT: the runner wraps this file in one transaction.
-- Figures in the schemes follow the bodies' published CPD policies as found in 2026; they are demo data,
-- not advice. Course titles and summaries are written for this demo.

-- Providers
INSERT INTO provider (code, name) VALUES
    ('CALMHANDS', 'Calm Hands Education'),
    ('BOWENWORKS', 'BowenWorks Training'),
    ('MYOLAB', 'MyoLab Clinical Education'),
    ('COASTAL-FA', 'Coastal First Aid Training');

-- Courses. course.current_version has a deferred foreign key to course_version, so each course row
-- comes first and its versions follow; the key is checked at commit.
-- SCREEN-CI has two versions (v2, mid-2026, is current); MH-HPA-2022 is retired (replaced by MH-EVID);
-- BOW-JAW is still a draft.
INSERT INTO course (code, provider, status, current_version) VALUES
    ('MH-EVID', 'CALMHANDS', 'published', 1),
    ('NMT-ANX', 'CALMHANDS', 'published', 1),
    ('MH-SCOPE', 'CALMHANDS', 'published', 1),
    ('MH-CARE', 'CALMHANDS', 'published', 1),
    ('MH-HPA-2022', 'CALMHANDS', 'retired', 1),
    ('BOW-SLEEP', 'BOWENWORKS', 'published', 1),
    ('BOW-BASICS', 'BOWENWORKS', 'published', 1),
    ('BOW-JAW', 'BOWENWORKS', 'draft', 1),
    ('BOW-CARE', 'BOWENWORKS', 'published', 1),
    ('SCREEN-CI', 'MYOLAB', 'published', 2),
    ('MYO-NECK', 'MYOLAB', 'published', 1),
    ('READ-TRIAL', 'MYOLAB', 'published', 1),
    ('ETH-BOUND', 'MYOLAB', 'published', 1),
    ('BIZ-PRACT', 'MYOLAB', 'published', 1),
    ('FA-REFRESH', 'COASTAL-FA', 'published', 1);

INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'MH-EVID', 1, 'Massage and mental health: the evidence',
    'A self-paced module on what the research shows about massage, stress hormones and mood. Meta-analyses find that a single session reliably eases state anxiety, and that a course of sessions brings modest falls in trait anxiety and depressive symptoms; the popular claim that massage lowers cortisol rests on small studies that a later quantitative review did not confirm. You will practise explaining these findings to clients and referrers without overstating them. Includes a short quiz and a one-page evidence summary for your clinic.',
    3, 3, 'mental_health', 'online', '{remedial,myotherapy,bowen,manual_therapy}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'NMT-ANX', 1, 'Neuromuscular technique for anxiety-related tension',
    'A hands-on workshop day on neuromuscular technique for the neck, jaw, shoulder girdle and breathing muscles, where tension often builds in clients living with anxiety. You will practise finding and treating trigger points in upper trapezius, levator scapulae, the scalenes, sternocleidomastoid, the suboccipitals and masseter, and grading pressure so that treatment stays tolerable for a client whose nervous system is already on alert. Time is also given to explaining findings in plain language, checking consent as you go, and knowing when to pause or refer. Bring a table and linen; places are capped at 16 for supervised practice.',
    8, 8, 'clinical', 'in_person', '{remedial,myotherapy,manual_therapy}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'MH-SCOPE', 1, 'When emotions surface on the table: staying within scope',
    'Clients sometimes cry, shake, go quiet or recall distressing events during bodywork. This live webinar covers how to respond steadily: pause, ask what the client needs, offer to stop or change technique, and help them settle and re-orient before they leave. It also draws the line clearly: inviting a client to ''let go'' of protective guarding, or to explore what a sensation means, is body psychotherapy and needs that training; your role is to stay kind, stay within scope and refer when the client wants more support. Includes a referral script and the recording for later viewing.',
    2, 2, 'mental_health', 'webinar', '{remedial,myotherapy,bowen,manual_therapy}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'MH-CARE', 1, 'Massage in mental health care: working with GPs and psychologists',
    'An online module for therapists who see clients with depression or an anxiety disorder who are also under the care of a GP, psychiatrist or psychologist. It covers what to ask at intake, how to adapt session length, pressure and communication, and how to write a brief, professional letter to a treating practitioner with the client''s consent. You will also learn how to respond if a client discloses thoughts of self-harm, including when to call 000 and which crisis lines to give. Massage is presented as a support alongside treatment, never a replacement for it.',
    3, 3, 'mental_health', 'online', '{remedial,myotherapy,bowen,manual_therapy}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'MH-HPA-2022', 1, 'Stress physiology for massage therapists: a reading pack (2022)',
    'A curated set of readings on the stress response: the HPA axis, cortisol and the autonomic nervous system, each with a short commentary on what it does and does not mean for hands-on practice. Work through the papers at your own pace and submit a 500-word reflective log to claim your points. Suited to therapists who want the physiology behind the questions clients ask about stress.',
    2, 2, 'research', 'reading', '{remedial,myotherapy,bowen,manual_therapy}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'BOW-SLEEP', 1, 'Bowen therapy for stress and sleep',
    'A one-day practical workshop for Bowen therapists whose clients arrive tired, wound up or sleeping poorly. It covers a focused stress and sleep history, the red flags that need a GP first (loud snoring with witnessed pauses in breathing, low mood that is getting worse, new night pain), and how to pace a session with fewer moves and longer breaks. Demonstrations and supervised practice of the procedures most used for relaxation sit alongside an honest look at how little research has yet tested Bowen for sleep. Prerequisite: a recognised Bowen therapy qualification.',
    7, 7, 'clinical', 'in_person', '{bowen}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'BOW-BASICS', 1, 'Bowen foundations revisited: relaxation and spinal procedures',
    'Two days back at the table refining the procedures you use most: the lower back, upper back and neck moves, with the common additions for the pelvis and shoulder. Tutors check your hand position, skin slack and move direction one on one, and you leave with written feedback. Suits therapists a few years out of their first training who want to tighten technique and revisit contraindications.',
    12, 12, 'clinical', 'in_person', '{bowen}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'BOW-JAW', 1, 'Bowen for the jaw: the TMJ procedure in practice',
    'A practical day on the Bowen TMJ procedure for clients with jaw pain, clicking or clenching. It covers screening for dental, ear, nose and throat or neurological causes that need referral, safe positioning, and how to pair the procedure with simple home advice on jaw rest and habits.',
    6, 6, 'clinical', 'in_person', '{bowen}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'BOW-CARE', 1, 'Looking after yourself in practice',
    'A 90-minute live webinar on the physical and emotional load of hands-on work. It covers pacing your week, protecting thumbs, wrists and lower back, noticing the early signs of burnout and compassion fatigue, and where to find supervision or peer support. You leave with a one-page self-care plan to review at each renewal.',
    1.5, 1.5, 'self_care', 'webinar', '{remedial,myotherapy,bowen,manual_therapy}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'SCREEN-CI', 1, 'Screening and contraindications: when not to treat',
    'An online module on the questions to ask before every first treatment and the findings that mean stop, modify or refer. It covers acute injury and suspected fracture, the signs of deep vein thrombosis (one-sided calf pain, swelling and warmth, especially after surgery, a long flight or time off your feet), and severe osteoporosis, where deep pressure or forceful technique over the ribs and spine can cause a fracture. Case examples show how to record your decision.',
    2, 2, 'clinical', 'online', '{remedial,myotherapy,bowen,manual_therapy}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'SCREEN-CI', 2, 'Screening and contraindications: when not to treat',
    'Revised and expanded for 2026. An online module on the questions to ask before every first treatment and the findings that mean stop, modify or refer: acute injury and suspected fracture, the signs of deep vein thrombosis (one-sided calf pain, swelling and warmth, especially after surgery, a long flight or time off your feet), and severe osteoporosis, where deep pressure over the ribs and spine can cause a fracture. New sections cover clients on blood thinners, people having cancer treatment, and pregnancy, with case examples on recording your decision and on when a client needs their GP or an emergency department the same day.',
    3, 3, 'clinical', 'online', '{remedial,myotherapy,bowen,manual_therapy}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'MYO-NECK', 1, 'Neck pain and cervicogenic headache: assessment and treatment',
    'A one-day practical workshop on assessing neck pain and headache that comes from the neck. It covers history taking, the screening questions that rule out serious causes (including signs of cervical arterial dysfunction), the flexion-rotation test, and soft tissue and movement-based treatment of the upper cervical region. Home exercises and how to progress them are practised in pairs.',
    7, 7, 'clinical', 'in_person', '{myotherapy,remedial}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'READ-TRIAL', 1, 'Reading a clinical trial: a guide for manual therapists',
    'A guided reading module for therapists who want to judge research for themselves rather than rely on headlines. You work through two published trials of massage with a checklist covering randomisation, blinding, control groups, dropouts and the difference between a statistically significant result and one that matters to a client. Points are claimed by submitting the completed checklists.',
    2, 2, 'research', 'reading', '{remedial,myotherapy,bowen,manual_therapy}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'ETH-BOUND', 1, 'Boundaries, consent and complaints',
    'A three-hour live webinar on the professional boundaries that protect clients and therapists. It covers informed and ongoing consent, draping, dual relationships and social media, and what the code of conduct for unregistered health practitioners in your state or territory expects of you. The last hour walks through how a complaint is handled and how good records help you respond.',
    3, 3, 'ethics', 'webinar', '{remedial,myotherapy,bowen,manual_therapy}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'BIZ-PRACT', 1, 'Small practice essentials: fees, records and health fund rebates',
    'A practical webinar for therapists in solo or small group practice. It covers setting and reviewing fees, cancellation policies, keeping clinical records that meet privacy law, and what health funds require before they pay rebates, including a current provider number and association membership. Templates for a fee schedule and a records checklist are included.',
    1.5, 1.5, 'business', 'webinar', '{remedial,myotherapy}', 'demo');
INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by) VALUES (
    'FA-REFRESH', 1, 'First aid refresher (HLTAID011)',
    'Renew your first aid and CPR in one course: online theory beforehand, then a practical session with CPR and defibrillator practice on manikins, bleeding control, anaphylaxis and asthma management, and scenarios set in a treatment room. Successful participants receive a statement of attainment for HLTAID011 Provide First Aid, which includes CPR. First aid is usually renewed every three years and CPR every year.',
    6, 6, 'first_aid', 'in_person', '{remedial,myotherapy,bowen,manual_therapy}', 'demo');

-- What happened to each course, in order.
INSERT INTO course_event (course, event, version, recorded_by) VALUES
    ('MH-EVID', 'added', 1, 'demo'),
    ('MH-EVID', 'published', 1, 'demo'),
    ('NMT-ANX', 'added', 1, 'demo'),
    ('NMT-ANX', 'published', 1, 'demo'),
    ('MH-SCOPE', 'added', 1, 'demo'),
    ('MH-SCOPE', 'published', 1, 'demo'),
    ('MH-CARE', 'added', 1, 'demo'),
    ('MH-CARE', 'published', 1, 'demo'),
    ('MH-HPA-2022', 'added', 1, 'demo'),
    ('MH-HPA-2022', 'published', 1, 'demo'),
    ('MH-HPA-2022', 'retired', 1, 'demo'),
    ('BOW-SLEEP', 'added', 1, 'demo'),
    ('BOW-SLEEP', 'published', 1, 'demo'),
    ('BOW-BASICS', 'added', 1, 'demo'),
    ('BOW-BASICS', 'published', 1, 'demo'),
    ('BOW-JAW', 'added', 1, 'demo'),
    ('BOW-CARE', 'added', 1, 'demo'),
    ('BOW-CARE', 'published', 1, 'demo'),
    ('SCREEN-CI', 'added', 1, 'demo'),
    ('SCREEN-CI', 'published', 1, 'demo'),
    ('SCREEN-CI', 'updated', 2, 'demo'),
    ('MYO-NECK', 'added', 1, 'demo'),
    ('MYO-NECK', 'published', 1, 'demo'),
    ('READ-TRIAL', 'added', 1, 'demo'),
    ('READ-TRIAL', 'published', 1, 'demo'),
    ('ETH-BOUND', 'added', 1, 'demo'),
    ('ETH-BOUND', 'published', 1, 'demo'),
    ('BIZ-PRACT', 'added', 1, 'demo'),
    ('BIZ-PRACT', 'published', 1, 'demo'),
    ('FA-REFRESH', 'added', 1, 'demo'),
    ('FA-REFRESH', 'published', 1, 'demo');

-- Schemes. Fixed yearly cycles are anchored on their month-day in the year 2000; two-year cycles on the
-- first cycle's actual start. Anniversary and rolling schemes have no anchor.
INSERT INTO scheme (code, title, period, length_months, anchor, start_text, required, carry_over_max, opening_balance, pro_rata) VALUES
    ('MYO-AA', 'Myotherapy Association Australia (demo)', 'fixed', 12, '2000-07-01', '07-01', 20, NULL, NULL, 'none'),
    ('ANTA', 'Australian Natural Therapists Association (demo)', 'fixed', 12, '2000-01-01', '01-01', 20, NULL, NULL, 'none'),
    ('NCBTMB', 'National Certification Board for Therapeutic Massage & Bodywork (demo)', 'fixed', 24, '2025-01-01', '2025-01-01', 24, NULL, NULL, 'none'),
    ('MMA-REM', 'Massage & Myotherapy Australia, remedial level (demo)', 'rolling', 36, NULL, NULL, 40, NULL, 40, 'none'),
    ('CMA', 'Complementary Medicine Association (demo)', 'anniversary', 12, NULL, NULL, 20, 10, NULL, 'none'),
    ('FL-LMT', 'Florida Board of Massage Therapy licence (demo)', 'fixed', 24, '2025-09-01', '2025-09-01', 24, NULL, NULL, 'monthly'),
    ('CNHC', 'Complementary and Natural Healthcare Council (demo)', 'fixed', 12, '2000-01-01', '01-01', 15, NULL, NULL, 'none'),
    ('FHT', 'Federation of Holistic Therapists (demo)', 'anniversary', 12, NULL, NULL, 10, NULL, NULL, 'none');

-- Minimums and caps. ANTA's "at least half in the member's accredited modalities" is approximated as
-- half from clinical courses; CNHC's "no more than a third from one type of activity" as a share cap per
-- delivery mode.
INSERT INTO scheme_rule (scheme, target_kind, target, bound, amount) VALUES
    ('MYO-AA', 'delivery', 'in_person', 'min', 4),
    ('MYO-AA', 'delivery', 'online', 'max', 16),
    ('MYO-AA', 'delivery', 'reading', 'max', 10),
    ('ANTA', 'category', 'clinical', 'min_share', 50),
    ('NCBTMB', 'category', 'ethics', 'min', 3),
    ('NCBTMB', 'category', 'self_care', 'max', 4),
    ('FL-LMT', 'category', 'ethics', 'min', 2),
    ('FL-LMT', 'delivery', 'in_person', 'min', 12),
    ('CNHC', 'delivery', 'in_person', 'max_share', 33.33),
    ('CNHC', 'delivery', 'online', 'max_share', 33.33),
    ('CNHC', 'delivery', 'webinar', 'max_share', 33.33),
    ('CNHC', 'delivery', 'reading', 'max_share', 33.33);

INSERT INTO scheme_certificate (scheme, kind) VALUES
    ('MMA-REM', 'first_aid');

-- Practitioners (standing as at 2026-11-21 in the comments).
INSERT INTO practitioner (id, name, scheme, joined, modalities) VALUES
    ('P-1001', 'Megan O''Donnell', 'MYO-AA', '2021-03-15', '{myotherapy,remedial}'),  -- 11 of 20 in the cycle from 2026-07-01 (the protocol example): on track
    ('P-1002', 'Daniel Kowalski', 'MYO-AA', '2019-08-05', '{myotherapy}'),  -- 20 of 20 in the current cycle: compliant
    ('P-1003', 'Priya Raman', 'MMA-REM', '2020-02-10', '{remedial,bowen}'),  -- 41 in the trailing 36 months; first aid expires 2027-01-10
    ('P-1004', 'Tom Whitfield', 'MMA-REM', '2026-02-16', '{remedial}'),  -- new member: opening balance 40 + 2; first aid expired 2026-08-02
    ('P-1005', 'Grace Liu', 'MMA-REM', '2022-09-01', '{remedial,manual_therapy}'),  -- opening balance aged out 2025-09-01: 21 of 40 in the window
    ('P-1006', 'Liam Mitchell', 'ANTA', '2019-04-01', '{remedial,manual_therapy}'),  -- 8 of 20 in 2026, no clinical points: at risk; one completion reversed
    ('P-1007', 'Chloe Papadopoulos', 'ANTA', '2023-06-12', '{remedial}'),  -- 20 in 2026, 15 clinical: compliant
    ('P-1008', 'Marcus Bell', 'NCBTMB', '2024-03-04', '{remedial}'),  -- 14.5 of 24 in the 2025-2026 cycle: at risk; one adjustment
    ('P-1009', 'Hannah Schultz', 'CMA', '2022-10-17', '{bowen,remedial}'),  -- last membership year 21 of 20; 7 so far in the year from 2026-10-17
    ('P-1010', 'Rosa Delgado', 'FL-LMT', '2025-11-03', '{remedial}'),  -- first, pro-rata cycle to 2027-08-31: 14 so far, 8 in person
    ('P-1011', 'Eleanor Hughes', 'CNHC', '2021-01-25', '{manual_therapy,remedial}'),  -- 13 hours in 2026 but 8 online, over the one-third cap
    ('P-1012', 'Siobhan Kelly', 'FHT', '2024-09-09', '{bowen,remedial}');  -- compliant last year and already this year

-- First aid certificates of the MMA-REM members: one expiring soon, one already expired.
INSERT INTO certificate (practitioner, kind, issued, expires, ref, recorded_by) VALUES
    ('P-1003', 'first_aid', '2024-01-10', '2027-01-10', 'CFA-SOA-24-00117', 'demo'),
    ('P-1004', 'first_aid', '2023-08-02', '2026-08-02', 'SJA-HLTAID011-2308-4471', 'demo'),
    ('P-1005', 'first_aid', '2025-03-22', '2028-03-22', 'CFA-SOA-25-00342', 'demo');

-- The ledger. A BEFORE INSERT trigger assigns id, prev_hash, hash and recorded_at; on the empty ledger
-- the ids are 1, 2, 3... in the order of the rows below (noted in the comments), which the reversal
-- relies on. A completion carries its course version's points, category and delivery exactly.

-- Opening balances of the MMA-REM members, effective on the day they joined.
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1003', 'opening_balance', 40, '2020-02-10', NULL, NULL, NULL, NULL, NULL, NULL, 'demo', 'demo-1', 'practitioner.add id=P-1003 name="Priya Raman" scheme=MMA-REM joined=2020-02-10'),  -- 1
    ('P-1004', 'opening_balance', 40, '2026-02-16', NULL, NULL, NULL, NULL, NULL, NULL, 'demo', 'demo-2', 'practitioner.add id=P-1004 name="Tom Whitfield" scheme=MMA-REM joined=2026-02-16'),  -- 2
    ('P-1005', 'opening_balance', 40, '2022-09-01', NULL, NULL, NULL, NULL, NULL, NULL, 'demo', 'demo-3', 'practitioner.add id=P-1005 name="Grace Liu" scheme=MMA-REM joined=2022-09-01');  -- 3

-- P-1001
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1001', 'completion', 7, '2025-08-23', 'MYO-NECK', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-4', 'completion.record practitioner=P-1001 course=MYO-NECK completed=2025-08-23'),  -- 4
    ('P-1001', 'completion', 2, '2025-10-04', 'SCREEN-CI', 1, 'clinical', 'online', NULL, NULL, 'demo', 'demo-5', 'completion.record practitioner=P-1001 course=SCREEN-CI completed=2025-10-04'),  -- 5
    ('P-1001', 'completion', 2, '2026-02-11', 'READ-TRIAL', 1, 'research', 'reading', NULL, NULL, 'demo', 'demo-6', 'completion.record practitioner=P-1001 course=READ-TRIAL completed=2026-02-11'),  -- 6
    ('P-1001', 'completion', 3, '2026-03-18', 'ETH-BOUND', 1, 'ethics', 'webinar', NULL, NULL, 'demo', 'demo-7', 'completion.record practitioner=P-1001 course=ETH-BOUND completed=2026-03-18'),  -- 7
    ('P-1001', 'completion', 6, '2026-06-13', 'FA-REFRESH', 1, 'first_aid', 'in_person', NULL, NULL, 'demo', 'demo-8', 'completion.record practitioner=P-1001 course=FA-REFRESH completed=2026-06-13'),  -- 8
    ('P-1001', 'completion', 8, '2026-08-22', 'NMT-ANX', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-9', 'completion.record practitioner=P-1001 course=NMT-ANX completed=2026-08-22'),  -- 9
    ('P-1001', 'completion', 3, '2026-10-01', 'MH-EVID', 1, 'mental_health', 'online', NULL, NULL, 'demo', 'demo-10', 'completion.record practitioner=P-1001 course=MH-EVID completed=2026-10-01');  -- 10

-- P-1002
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1002', 'completion', 2, '2023-05-09', 'MH-HPA-2022', 1, 'research', 'reading', NULL, NULL, 'demo', 'demo-11', 'completion.record practitioner=P-1002 course=MH-HPA-2022 completed=2023-05-09'),  -- 11
    ('P-1002', 'completion', 3, '2026-07-14', 'SCREEN-CI', 2, 'clinical', 'online', NULL, NULL, 'demo', 'demo-12', 'completion.record practitioner=P-1002 course=SCREEN-CI completed=2026-07-14'),  -- 12
    ('P-1002', 'completion', 7, '2026-08-08', 'MYO-NECK', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-13', 'completion.record practitioner=P-1002 course=MYO-NECK completed=2026-08-08'),  -- 13
    ('P-1002', 'completion', 8, '2026-09-19', 'NMT-ANX', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-14', 'completion.record practitioner=P-1002 course=NMT-ANX completed=2026-09-19'),  -- 14
    ('P-1002', 'completion', 2, '2026-10-27', 'READ-TRIAL', 1, 'research', 'reading', NULL, NULL, 'demo', 'demo-15', 'completion.record practitioner=P-1002 course=READ-TRIAL completed=2026-10-27');  -- 15

-- P-1003
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1003', 'completion', 6, '2024-01-10', 'FA-REFRESH', 1, 'first_aid', 'in_person', NULL, NULL, 'demo', 'demo-16', 'completion.record practitioner=P-1003 course=FA-REFRESH completed=2024-01-10'),  -- 16
    ('P-1003', 'completion', 7, '2024-03-09', 'MYO-NECK', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-17', 'completion.record practitioner=P-1003 course=MYO-NECK completed=2024-03-09'),  -- 17
    ('P-1003', 'completion', 8, '2024-09-14', 'NMT-ANX', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-18', 'completion.record practitioner=P-1003 course=NMT-ANX completed=2024-09-14'),  -- 18
    ('P-1003', 'completion', 3, '2025-02-19', 'ETH-BOUND', 1, 'ethics', 'webinar', NULL, NULL, 'demo', 'demo-19', 'completion.record practitioner=P-1003 course=ETH-BOUND completed=2025-02-19'),  -- 19
    ('P-1003', 'completion', 7, '2025-08-16', 'BOW-SLEEP', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-20', 'completion.record practitioner=P-1003 course=BOW-SLEEP completed=2025-08-16'),  -- 20
    ('P-1003', 'completion', 3, '2025-11-12', 'MH-EVID', 1, 'mental_health', 'online', NULL, NULL, 'demo', 'demo-21', 'completion.record practitioner=P-1003 course=MH-EVID completed=2025-11-12'),  -- 21
    ('P-1003', 'completion', 3, '2026-03-03', 'MH-CARE', 1, 'mental_health', 'online', NULL, NULL, 'demo', 'demo-22', 'completion.record practitioner=P-1003 course=MH-CARE completed=2026-03-03'),  -- 22
    ('P-1003', 'completion', 2, '2026-05-20', 'READ-TRIAL', 1, 'research', 'reading', NULL, NULL, 'demo', 'demo-23', 'completion.record practitioner=P-1003 course=READ-TRIAL completed=2026-05-20'),  -- 23
    ('P-1003', 'completion', 2, '2026-08-12', 'MH-SCOPE', 1, 'mental_health', 'webinar', NULL, NULL, 'demo', 'demo-24', 'completion.record practitioner=P-1003 course=MH-SCOPE completed=2026-08-12');  -- 24

-- P-1004
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1004', 'completion', 2, '2026-03-10', 'SCREEN-CI', 1, 'clinical', 'online', NULL, NULL, 'demo', 'demo-25', 'completion.record practitioner=P-1004 course=SCREEN-CI completed=2026-03-10');  -- 25

-- P-1005
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1005', 'completion', 8, '2024-05-18', 'NMT-ANX', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-26', 'completion.record practitioner=P-1005 course=NMT-ANX completed=2024-05-18'),  -- 26
    ('P-1005', 'completion', 3, '2025-09-30', 'MH-EVID', 1, 'mental_health', 'online', NULL, NULL, 'demo', 'demo-27', 'completion.record practitioner=P-1005 course=MH-EVID completed=2025-09-30'),  -- 27
    ('P-1005', 'completion', 3, '2026-04-15', 'ETH-BOUND', 1, 'ethics', 'webinar', NULL, NULL, 'demo', 'demo-28', 'completion.record practitioner=P-1005 course=ETH-BOUND completed=2026-04-15'),  -- 28
    ('P-1005', 'completion', 7, '2026-10-10', 'MYO-NECK', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-29', 'completion.record practitioner=P-1005 course=MYO-NECK completed=2026-10-10');  -- 29

-- P-1006
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1006', 'completion', 3, '2026-04-08', 'MH-EVID', 1, 'mental_health', 'online', NULL, NULL, 'demo', 'demo-30', 'completion.record practitioner=P-1006 course=MH-EVID completed=2026-04-08'),  -- 30
    ('P-1006', 'completion', 3, '2026-05-27', 'ETH-BOUND', 1, 'ethics', 'webinar', NULL, NULL, 'demo', 'demo-31', 'completion.record practitioner=P-1006 course=ETH-BOUND completed=2026-05-27'),  -- 31
    ('P-1006', 'completion', 2, '2026-08-30', 'READ-TRIAL', 1, 'research', 'reading', NULL, NULL, 'demo', 'demo-32', 'completion.record practitioner=P-1006 course=READ-TRIAL completed=2026-08-30'),  -- 32
    ('P-1006', 'completion', 8, '2026-09-19', 'NMT-ANX', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-33', 'completion.record practitioner=P-1006 course=NMT-ANX completed=2026-09-19'),  -- 33
    ('P-1006', 'reversal', -8, '2026-09-19', 'NMT-ANX', 1, 'clinical', 'in_person', 33, 'recorded against the wrong practitioner: the attendee was P-1007', 'demo', 'demo-34', 'entry.reverse entry=33 reason="recorded against the wrong practitioner: the attendee was P-1007"');  -- 34

-- P-1007
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1007', 'completion', 7, '2026-03-21', 'MYO-NECK', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-35', 'completion.record practitioner=P-1007 course=MYO-NECK completed=2026-03-21'),  -- 35
    ('P-1007', 'completion', 3, '2026-05-13', 'MH-CARE', 1, 'mental_health', 'online', NULL, NULL, 'demo', 'demo-36', 'completion.record practitioner=P-1007 course=MH-CARE completed=2026-05-13'),  -- 36
    ('P-1007', 'completion', 8, '2026-09-19', 'NMT-ANX', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-37', 'completion.record practitioner=P-1007 course=NMT-ANX completed=2026-09-19'),  -- 37
    ('P-1007', 'completion', 2, '2026-10-21', 'MH-SCOPE', 1, 'mental_health', 'webinar', NULL, NULL, 'demo', 'demo-38', 'completion.record practitioner=P-1007 course=MH-SCOPE completed=2026-10-21');  -- 38

-- P-1008
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1008', 'completion', 3, '2025-03-12', 'ETH-BOUND', 1, 'ethics', 'webinar', NULL, NULL, 'demo', 'demo-39', 'completion.record practitioner=P-1008 course=ETH-BOUND completed=2025-03-12'),  -- 39
    ('P-1008', 'completion', 1.5, '2025-06-11', 'BOW-CARE', 1, 'self_care', 'webinar', NULL, NULL, 'demo', 'demo-40', 'completion.record practitioner=P-1008 course=BOW-CARE completed=2025-06-11'),  -- 40
    ('P-1008', 'completion', 3, '2025-10-08', 'MH-EVID', 1, 'mental_health', 'online', NULL, NULL, 'demo', 'demo-41', 'completion.record practitioner=P-1008 course=MH-EVID completed=2025-10-08'),  -- 41
    ('P-1008', 'adjustment', 4, '2026-04-30', NULL, NULL, 'clinical', 'in_person', NULL, '4-hour hands-on course taken outside the registry; certificate of attendance sighted', 'demo', 'demo-42', 'entry.adjust practitioner=P-1008 points=4 reason="4-hour hands-on course taken outside the registry; certificate of attendance sighted" category=clinical delivery=in_person'),  -- 42
    ('P-1008', 'completion', 3, '2026-08-05', 'SCREEN-CI', 2, 'clinical', 'online', NULL, NULL, 'demo', 'demo-43', 'completion.record practitioner=P-1008 course=SCREEN-CI completed=2026-08-05');  -- 43

-- P-1009
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1009', 'completion', 12, '2025-11-15', 'BOW-BASICS', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-44', 'completion.record practitioner=P-1009 course=BOW-BASICS completed=2025-11-15'),  -- 44
    ('P-1009', 'completion', 3, '2026-01-20', 'MH-EVID', 1, 'mental_health', 'online', NULL, NULL, 'demo', 'demo-45', 'completion.record practitioner=P-1009 course=MH-EVID completed=2026-01-20'),  -- 45
    ('P-1009', 'completion', 2, '2026-04-14', 'SCREEN-CI', 1, 'clinical', 'online', NULL, NULL, 'demo', 'demo-46', 'completion.record practitioner=P-1009 course=SCREEN-CI completed=2026-04-14'),  -- 46
    ('P-1009', 'completion', 2, '2026-05-06', 'MH-SCOPE', 1, 'mental_health', 'webinar', NULL, NULL, 'demo', 'demo-47', 'completion.record practitioner=P-1009 course=MH-SCOPE completed=2026-05-06'),  -- 47
    ('P-1009', 'completion', 2, '2026-07-08', 'READ-TRIAL', 1, 'research', 'reading', NULL, NULL, 'demo', 'demo-48', 'completion.record practitioner=P-1009 course=READ-TRIAL completed=2026-07-08'),  -- 48
    ('P-1009', 'completion', 7, '2026-11-07', 'BOW-SLEEP', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-49', 'completion.record practitioner=P-1009 course=BOW-SLEEP completed=2026-11-07');  -- 49

-- P-1010
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1010', 'completion', 3, '2026-01-28', 'ETH-BOUND', 1, 'ethics', 'webinar', NULL, NULL, 'demo', 'demo-50', 'completion.record practitioner=P-1010 course=ETH-BOUND completed=2026-01-28'),  -- 50
    ('P-1010', 'completion', 8, '2026-04-18', 'NMT-ANX', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-51', 'completion.record practitioner=P-1010 course=NMT-ANX completed=2026-04-18'),  -- 51
    ('P-1010', 'completion', 3, '2026-07-29', 'SCREEN-CI', 2, 'clinical', 'online', NULL, NULL, 'demo', 'demo-52', 'completion.record practitioner=P-1010 course=SCREEN-CI completed=2026-07-29');  -- 52

-- P-1011
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1011', 'completion', 3, '2026-02-03', 'MH-EVID', 1, 'mental_health', 'online', NULL, NULL, 'demo', 'demo-53', 'completion.record practitioner=P-1011 course=MH-EVID completed=2026-02-03'),  -- 53
    ('P-1011', 'completion', 3, '2026-03-17', 'MH-CARE', 1, 'mental_health', 'online', NULL, NULL, 'demo', 'demo-54', 'completion.record practitioner=P-1011 course=MH-CARE completed=2026-03-17'),  -- 54
    ('P-1011', 'completion', 2, '2026-05-05', 'SCREEN-CI', 1, 'clinical', 'online', NULL, NULL, 'demo', 'demo-55', 'completion.record practitioner=P-1011 course=SCREEN-CI completed=2026-05-05'),  -- 55
    ('P-1011', 'completion', 2, '2026-06-30', 'READ-TRIAL', 1, 'research', 'reading', NULL, NULL, 'demo', 'demo-56', 'completion.record practitioner=P-1011 course=READ-TRIAL completed=2026-06-30'),  -- 56
    ('P-1011', 'completion', 3, '2026-09-16', 'ETH-BOUND', 1, 'ethics', 'webinar', NULL, NULL, 'demo', 'demo-57', 'completion.record practitioner=P-1011 course=ETH-BOUND completed=2026-09-16');  -- 57

-- P-1012
INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason, recorded_by, idempotency_key, request) VALUES
    ('P-1012', 'completion', 7, '2025-10-25', 'BOW-SLEEP', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-58', 'completion.record practitioner=P-1012 course=BOW-SLEEP completed=2025-10-25'),  -- 58
    ('P-1012', 'completion', 3, '2026-02-18', 'ETH-BOUND', 1, 'ethics', 'webinar', NULL, NULL, 'demo', 'demo-59', 'completion.record practitioner=P-1012 course=ETH-BOUND completed=2026-02-18'),  -- 59
    ('P-1012', 'completion', 12, '2026-10-31', 'BOW-BASICS', 1, 'clinical', 'in_person', NULL, NULL, 'demo', 'demo-60', 'completion.record practitioner=P-1012 course=BOW-BASICS completed=2026-10-31');  -- 60
