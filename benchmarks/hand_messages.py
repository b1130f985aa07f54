"""Hand-written DuckDB SQL for the 35 models, giving exactly the engine's warnings and messages.

The baseline the benchmark's ratio is measured against (benchmarks/hand_sql.py).
Each query was written from the model's rule file and contract/models.md, as an
analyst would write it by hand — one plain query per model, township names
looked up after filtering — without reading the engine's SQL. It reads the
as-of views `v_<source>` and the shared views `circle`, `ent_persons` and
`related` that tests/demo/demo_reference.py's set_as_of defines; `{D}` is the
as-of DATE literal. Columns by position: the key parts, the township, then one
value per `{…}` of the message in message order (dates, numbers and wan() are
written out afterwards by engine.runs.warnings.to_warnings, as for the engine).
Thresholds are the pack's defaults. tests/demo/test_hand_messages.py checks
that every message is the engine's, word for word.
"""

# blank() in the contract: missing or only white space (space, tab, LF, CR, no-break
# space, ideographic space).
_WS = "' ' || chr(9) || chr(10) || chr(13) || chr(160) || chr(12288)"


def _blank(x: str) -> str:
    return f"({x} IS NULL OR trim({x}, {_WS}) = '')"


MODELS: dict[str, str] = {
    # A big project, not 终止, approved over 6 months ago, with no visible tender.
    "ENG01": """
        SELECT p.project_id, p.township, p.investment,
               CASE WHEN starts_with(p.name, coalesce(n.name, p.township)) THEN ''
                    ELSE coalesce(n.name, p.township) END,
               p.name, 6
        FROM v_dr_project p
        LEFT JOIN ref_township n ON n.township = p.township
        WHERE p.investment >= 4000000 AND p.status IS DISTINCT FROM '终止'
          AND p.approved_on + INTERVAL 6 MONTH < {D}
          AND NOT EXISTS (SELECT 1 FROM v_trade_tender t WHERE t.project_id = p.project_id)""",
    # Untendered contracts of a root project (the parent of the contract's project, else
    # its own project): two or more, each under the threshold, together at or over it.
    "ENG02": f"""
        WITH c AS (
          SELECT coalesce(p.parent_project_id, c.project_id) AS root, c.amount, c.township
          FROM v_trade_contract c LEFT JOIN v_dr_project p ON p.project_id = c.project_id
          WHERE {_blank("c.tender_id")} AND NOT {_blank("c.project_id")}),
        g AS (
          SELECT root, count(*) AS n, coalesce(sum(amount), 0) AS total, min(township) AS t
          FROM c GROUP BY root
          HAVING count(*) >= 2 AND max(amount) < 4000000 AND sum(amount) >= 4000000)
        SELECT g.root,
               coalesce((SELECT min(r.township) FROM v_dr_project r
                         WHERE r.project_id = g.root), g.t),
               g.root, g.n, 4000000, g.total
        FROM g""",
    # Two bidders (different codes) of one tender share a non-empty phone or IP address.
    # As with the rules' `!=` (true when either side is missing), a bid with no bidder code
    # counts as a different bidder from every bid, itself included.
    "ENG03": f"""
        WITH hit AS (
          SELECT tender_id FROM v_trade_bid WHERE NOT {_blank("contact_phone")}
          GROUP BY tender_id, contact_phone
          HAVING count(DISTINCT bidder_code) >= 2 OR count(*) > count(bidder_code)
          UNION
          SELECT tender_id FROM v_trade_bid WHERE NOT {_blank("ip_address")}
          GROUP BY tender_id, ip_address
          HAVING count(DISTINCT bidder_code) >= 2 OR count(*) > count(bidder_code))
        SELECT t.tender_id, t.township, coalesce(t.title, t.tender_id), t.tender_id
        FROM v_trade_tender t JOIN hit USING (tender_id)""",
    # Two bidders of one tender share a (non-blank) person. The message names the smallest
    # such person and the two smallest bidder codes that have that person.
    "ENG04": f"""
        WITH bp AS (
          SELECT DISTINCT b.tender_id, b.bidder_code, ep.pid
          FROM v_trade_bid b JOIN ent_persons ep ON ep.ent = b.bidder_code
          WHERE NOT {_blank("ep.pid")}),
        pick AS (
          SELECT tender_id, min(pid) AS person FROM (
            SELECT tender_id, pid FROM bp GROUP BY tender_id, pid
            HAVING count(DISTINCT bidder_code) >= 2)
          GROUP BY tender_id),
        two AS (
          SELECT k.tender_id, k.person, bp.bidder_code,
                 row_number() OVER (PARTITION BY k.tender_id ORDER BY bp.bidder_code) AS rn
          FROM pick k JOIN bp ON bp.tender_id = k.tender_id AND bp.pid = k.person),
        names AS (
          SELECT tender_id, bidder_code, min(bidder_name) AS name FROM v_trade_bid
          WHERE tender_id IN (SELECT tender_id FROM pick) GROUP BY tender_id, bidder_code)
        SELECT t.tender_id, t.township, coalesce(t.title, t.tender_id), t.tender_id,
               coalesce(n1.name, b1.bidder_code), coalesce(n2.name, b2.bidder_code), b1.person
        FROM v_trade_tender t
        JOIN two b1 ON b1.tender_id = t.tender_id AND b1.rn = 1
        JOIN two b2 ON b2.tender_id = t.tender_id AND b2.rn = 2
        LEFT JOIN names n1 ON n1.tender_id = t.tender_id AND n1.bidder_code = b1.bidder_code
        LEFT JOIN names n2 ON n2.tender_id = t.tender_id AND n2.bidder_code = b2.bidder_code""",
    # The net of a contract's changes exceeds 10% of its amount.
    "ENG05": """
        WITH x AS (SELECT contract_id, count(*) AS changes, sum(amount_delta) AS net
                   FROM v_build_change GROUP BY contract_id)
        SELECT c.contract_id, c.township, coalesce(n.name, c.township),
               coalesce(c.contractor_name, c.contractor_code),
               c.contract_id, c.amount, coalesce(x.changes, 0), coalesce(x.net, 0), 0.10,
               coalesce(x.net, 0) - 0.10 * c.amount
        FROM v_trade_contract c
        LEFT JOIN x ON x.contract_id = c.contract_id
        LEFT JOIN ref_township n ON n.township = c.township
        WHERE coalesce(x.net, 0) > 0.10 * c.amount""",
    # A contract's payments exceed its amount plus its net changes.
    "ENG06": """
        WITH x AS (SELECT contract_id, sum(amount_delta) AS net FROM v_build_change
                   GROUP BY contract_id),
        f AS (SELECT contract_id, count(*) AS payments, sum(amount) AS paid FROM v_fin_payment
              WHERE contract_id IS NOT NULL GROUP BY contract_id),
        c AS (SELECT c.*, coalesce(x.net, 0) AS net, coalesce(f.payments, 0) AS payments,
                     coalesce(f.paid, 0) AS paid
              FROM v_trade_contract c
              LEFT JOIN x ON x.contract_id = c.contract_id
              LEFT JOIN f ON f.contract_id = c.contract_id)
        SELECT c.contract_id, c.township, coalesce(n.name, c.township),
               coalesce(c.contractor_name, c.contractor_code),
               c.contract_id, c.amount, c.net, c.payments, c.paid, c.paid - c.amount - c.net
        FROM c LEFT JOIN ref_township n ON n.township = c.township
        WHERE c.paid > c.amount + c.net""",
    # A works contract paid more than 80% of (amount + net changes) before its first
    # passed acceptance (all visible payments while it has none).
    "ENG07": """
        WITH c AS (
          SELECT c.*,
                 (SELECT min(a.accepted_on) FROM v_build_acceptance a
                  WHERE a.contract_id = c.contract_id AND a.result = '合格') AS accepted,
                 coalesce((SELECT sum(x.amount_delta) FROM v_build_change x
                           WHERE x.contract_id = c.contract_id), 0) AS net
          FROM v_trade_contract c WHERE c.kind = '工程'),
        p AS (
          SELECT c.*, coalesce((SELECT sum(f.amount) FROM v_fin_payment f
                                WHERE f.contract_id = c.contract_id
                                  AND (c.accepted IS NULL OR f.paid_on < c.accepted)), 0) AS paid
          FROM c)
        SELECT p.contract_id, p.township, coalesce(n.name, p.township),
               coalesce(p.contractor_name, p.contractor_code),
               p.contract_id, p.amount, p.net, coalesce(p.accepted, {D}),
               CASE WHEN p.accepted IS NULL THEN '仍未验收合格' ELSE '首次验收合格' END,
               p.paid, 0.80, 0.80 * (p.amount + p.net), p.paid - 0.80 * (p.amount + p.net)
        FROM p LEFT JOIN ref_township n ON n.township = p.township
        WHERE p.paid > 0.80 * (p.amount + p.net)""",
    # The contractor is related to the contract's township.
    "ENG08": """
        SELECT c.contract_id, c.township, coalesce(n.name, c.township),
               coalesce(c.contractor_name, c.contractor_code),
               c.contract_id, c.amount
        FROM v_trade_contract c
        LEFT JOIN ref_township n ON n.township = c.township
        WHERE EXISTS (SELECT 1 FROM related r
                      WHERE r.township = c.township AND r.code = c.contractor_code)""",
    # An incentive with no visible agreement, or whose agreement was signed after it was paid.
    "INV01": """
        SELECT i.incentive_id, i.township, coalesce(n.name, i.township), i.paid_on,
               coalesce(g.enterprise_name, i.enterprise_code), i.amount, i.incentive_id,
               CASE WHEN g.agreement_id IS NULL THEN '未找到对应的招商引资协议'
                    ELSE '协议签订日期晚于兑现日期' END,
               coalesce(i.agreement_id, '未填写'), g.signed_on
        FROM v_com_incentive i
        LEFT JOIN v_com_agreement g ON g.agreement_id = i.agreement_id
        LEFT JOIN ref_township n ON n.township = i.township
        WHERE g.agreement_id IS NULL OR g.signed_on > i.paid_on""",
    # An enterprise's incentives for a year exceed the tax it paid that year (0 when none).
    "INV02": """
        WITH g AS (
          SELECT i.enterprise_code, i.year, count(*) AS n, coalesce(sum(i.amount), 0) AS total,
                 first(i.township ORDER BY i.amount DESC, i.township) AS town,
                 coalesce((SELECT sum(x.tax_paid) FROM v_tax_annual x
                           WHERE x.enterprise_code = i.enterprise_code AND x.year = i.year),
                          0) AS tax
          FROM v_com_incentive i WHERE i.year IS NOT NULL
          GROUP BY i.enterprise_code, i.year
          HAVING coalesce(sum(i.amount), 0) > 1.0 * tax)
        SELECT g.enterprise_code, g.year, g.town,
               coalesce((SELECT min(e.name) FROM v_mkt_enterprise e
                         WHERE e.enterprise_code = g.enterprise_code), g.enterprise_code),
               g.enterprise_code, g.year, g.n, g.total, g.tax, 1.0, 1.0 * g.tax,
               g.total - 1.0 * g.tax
        FROM g""",
    # An enterprise, 注销 or 吊销, whose status changed within 365 days of its first incentive.
    "INV03": """
        WITH g AS (
          SELECT i.enterprise_code, min(i.paid_on) AS first_paid,
                 min(e.status_changed_on) AS exited,
                 first(i.township ORDER BY i.paid_on, i.township) AS town,
                 min(e.name) AS name, min(e.status) AS status, count(*) AS n,
                 coalesce(sum(i.amount), 0) AS total
          FROM v_com_incentive i JOIN v_mkt_enterprise e ON e.enterprise_code = i.enterprise_code
          WHERE e.status IN ('注销', '吊销')
          GROUP BY i.enterprise_code
          HAVING min(e.status_changed_on) BETWEEN min(i.paid_on) AND min(i.paid_on) + 365)
        SELECT g.enterprise_code, g.town, coalesce(g.name, g.enterprise_code), g.enterprise_code,
               g.first_paid, coalesce(n.name, g.town), g.n, g.total, g.exited, g.status,
               g.exited - g.first_paid
        FROM g LEFT JOIN ref_township n ON n.township = g.town""",
    # An agreement with incentives paid whose enterprise is related to its township.
    "INV04": """
        WITH i AS (SELECT agreement_id, count(*) AS payments, sum(amount) AS paid
                   FROM v_com_incentive WHERE agreement_id IS NOT NULL GROUP BY agreement_id)
        SELECT g.agreement_id, g.township, coalesce(n.name, g.township),
               coalesce(g.enterprise_name, g.enterprise_code),
               g.agreement_id, g.signed_on, i.payments, coalesce(i.paid, 0)
        FROM v_com_agreement g
        JOIN i ON i.agreement_id = g.agreement_id
        LEFT JOIN ref_township n ON n.township = g.township
        WHERE EXISTS (SELECT 1 FROM related r
                      WHERE r.township = g.township AND r.code = g.enterprise_code)""",
    # An enterprise's incentives for one year paid by two or more townships.
    "INV05": """
        WITH g AS (
          SELECT enterprise_code, year, min(township) AS t_min, max(township) AS t_max,
                 count(DISTINCT township) AS towns, count(*) AS n,
                 coalesce(sum(amount), 0) AS total, min(paid_on) AS first_paid,
                 max(paid_on) AS last_paid
          FROM v_com_incentive WHERE year IS NOT NULL
          GROUP BY enterprise_code, year HAVING count(DISTINCT township) >= 2)
        SELECT g.enterprise_code, g.year, g.t_min,
               coalesce((SELECT min(e.name) FROM v_mkt_enterprise e
                         WHERE e.enterprise_code = g.enterprise_code), g.enterprise_code),
               g.enterprise_code, g.year, coalesce(a.name, g.t_min), coalesce(b.name, g.t_max),
               g.towns, g.n, g.total,
               g.first_paid, g.last_paid
        FROM g LEFT JOIN ref_township a ON a.township = g.t_min
        LEFT JOIN ref_township b ON b.township = g.t_max""",
    "FIN01": f"""
        SELECT t.txn_id, a.township, coalesce(n.name, a.township), a.account_no,
               coalesce(a.holder_name, '户名未登记'), t.txn_at, t.channel,
               t.amount, t.txn_id, 50000
        FROM v_bank_txn t
        JOIN v_bank_account a ON a.account_no = t.account_no
        LEFT JOIN ref_township n ON n.township = a.township
        WHERE t.direction = '付' AND t.channel IN ('柜面现金', 'ATM') AND t.amount >= 50000
          AND NOT {_blank("a.township")}""",
    "FIN02": """
        WITH r AS (
          SELECT *, CASE WHEN guest_count <= 10 THEN 3
                         ELSE CAST(floor(guest_count / 3) AS BIGINT) END AS staff_limit,
                 CAST(meal_cost / nullif(guest_count + staff_count, 0) AS DECIMAL(28, 9))
                   AS per_head
          FROM v_town_reception)
        SELECT r.reception_id, r.township, coalesce(n.name, r.township), r.held_on, r.reception_id,
               r.guest_count,
               r.staff_count, r.staff_limit, r.meal_cost, round(r.per_head, 2), 150, r.has_letter
        FROM r LEFT JOIN ref_township n ON n.township = r.township
        WHERE r.staff_count > r.staff_limit OR r.has_letter = false OR r.per_head > 150""",
    "FIN03": f"""
        SELECT claimant_id, vendor_name, strftime(expense_on, '%Y-%m') AS ym,
               first(township ORDER BY expense_on DESC, township),
               strftime(expense_on, '%Y-%m'), claimant_id, vendor_name, count(*), 5000,
               coalesce(sum(amount), 0)
        FROM v_town_reimbursement
        WHERE NOT {_blank("vendor_name")}
        GROUP BY claimant_id, vendor_name, ym
        HAVING count(*) >= 3 AND max(amount) < 5000 AND sum(amount) >= 5000""",
    "FIN04": f"""
        SELECT p.payment_id, p.township, coalesce(n.name, p.township), p.paid_on,
               coalesce(p.payee_name, p.payee_code, '未知收款方'), p.amount, p.payment_id,
               CASE WHEN {_blank("p.contract_id")} THEN '无' ELSE p.contract_id END,
               coalesce(p.purpose, '未填')
        FROM v_fin_payment p
        LEFT JOIN ref_township n ON n.township = p.township
        WHERE p.amount >= 300000 AND p.economic_class IS DISTINCT FROM '工资福利'
          -- a contract payment needs an earlier decision of its township on that contract
          AND NOT EXISTS (
            SELECT 1 FROM v_town_decision d
            WHERE d.township = p.township AND d.contract_id = p.contract_id
              AND d.decided_on <= p.paid_on AND NOT {_blank("p.contract_id")})
          -- one without a contract, a no-contract decision as large, within 180 days before
          AND NOT EXISTS (
            SELECT 1 FROM v_town_decision d
            WHERE d.township = p.township
              AND {_blank("p.contract_id")} AND {_blank("d.contract_id")}
              AND d.amount >= p.amount AND d.decided_on BETWEEN p.paid_on - 180 AND p.paid_on)""",
    "FIN05": """
        SELECT p.payment_id, p.township, coalesce(n.name, p.township), p.paid_on,
               coalesce(p.payee_name, ''),
               p.payee_code, p.amount, p.payment_id, coalesce(p.purpose, '未填')
        FROM v_fin_payment p
        LEFT JOIN ref_township n ON n.township = p.township
        WHERE p.economic_class IS DISTINCT FROM '工资福利'
          AND EXISTS (SELECT 1 FROM circle c
                      WHERE c.township = p.township AND c.pid = p.payee_code)""",
    "FUN01": """
        SELECT s.recipient_id, s.program,
               first(s.township ORDER BY s.paid_on DESC, s.township),
               coalesce(min(d.name), s.recipient_id), min(d.died_on), count(*), s.program,
               coalesce(sum(s.amount), 0),
               max(s.paid_on)
        FROM v_fin_subsidy s
        JOIN v_ca_death d ON d.person_id = s.recipient_id
        WHERE s.paid_on > d.died_on + 60
        GROUP BY s.recipient_id, s.program""",
    "FUN02": f"""
        SELECT recipient_id, program, period, min(township),
               recipient_id, program, period, count(*), coalesce(sum(amount), 0),
               min(paid_on), max(paid_on)
        FROM v_fin_subsidy
        WHERE NOT {_blank("period")}
        GROUP BY recipient_id, program, period
        HAVING count(*) >= 2""",
    "FUN03": """
        SELECT a.case_id, a.township, coalesce(n.name, a.township), coalesce(a.village, ''),
               coalesce(a.name, ''),
               a.person_id, a.start_on, coalesce(a.kind, '救助'), a.case_id
        FROM v_ca_assistance a
        LEFT JOIN ref_township n ON n.township = a.township
        WHERE EXISTS (SELECT 1 FROM circle c
                      WHERE c.township = a.township AND c.pid = a.person_id)""",
    "FUN04": """
        WITH a AS (
          SELECT a.*,
                 (SELECT count(*) FROM v_ps_vehicle v
                  WHERE v.owner_id = a.person_id AND v.vehicle_type IS DISTINCT FROM '摩托车'
                    AND NOT coalesce(v.deregistered_on < a.start_on, false)) AS cars,
                 (SELECT count(DISTINCT e.enterprise_code) FROM ent_persons ep
                  JOIN v_mkt_enterprise e ON e.enterprise_code = ep.ent
                  WHERE ep.pid = a.person_id AND e.status = '存续') AS firms
          FROM v_ca_assistance a
          WHERE a.kind IN ('低保', '特困') AND (a.end_on IS NULL OR a.end_on >= {D}))
        SELECT a.case_id, a.township, coalesce(n.name, a.township), coalesce(a.village, ''),
               coalesce(a.name, ''),
               a.person_id, a.start_on, a.kind, a.case_id, a.cars, a.firms
        FROM a LEFT JOIN ref_township n ON n.township = a.township
        WHERE a.cars > 0 OR a.firms > 0""",
    "FUN05": """
        WITH f AS (
          SELECT f.*, coalesce((SELECT sum(p.amount) FROM v_fin_payment p
                                WHERE p.fund_id = f.fund_id), 0) AS spent
          FROM v_fin_fund f
          WHERE f.spend_deadline_on < {D})
        SELECT f.fund_id, f.township, coalesce(n.name, f.township), f.allocated_on, f.fund_id,
               coalesce(f.program, '项目名称未填'), f.amount, f.spend_deadline_on, f.spent, 0.50,
               0.5 * f.amount - f.spent
        FROM f LEFT JOIN ref_township n ON n.township = f.township
        WHERE f.spent < 0.5 * f.amount""",
    "FUN06": f"""
        SELECT account_no, min(township), account_no, count(DISTINCT recipient_id), count(*),
               coalesce(sum(amount), 0)
        FROM v_fin_subsidy
        WHERE NOT {_blank("account_no")}
        GROUP BY account_no
        HAVING count(DISTINCT recipient_id) >= 3""",
    # 一户多宅: the household had homestead parcels registered before the application.
    "HOU01": """
        WITH e AS (
          SELECT a.application_id, count(*) AS parcels, min(p.registered_on) AS first_on
          FROM v_nr_housing_approval a
          JOIN v_nr_homestead p
            ON p.household_id = a.household_id AND p.registered_on < a.applied_on
          WHERE a.status = '批准'
          GROUP BY a.application_id)
        SELECT a.application_id, a.township,
               coalesce(t.name, a.township), a.village, coalesce(a.applicant_name, ''),
               a.applicant_id, a.application_id,
               a.applied_on, a.household_id, e.parcels, e.first_on
        FROM e JOIN v_nr_housing_approval a USING (application_id)
        LEFT JOIN ref_township t ON t.township = a.township""",
    # 超面积审批
    "HOU02": """
        SELECT a.application_id, a.township,
               coalesce(t.name, a.township), a.village, coalesce(a.applicant_name, ''),
               a.applicant_id, a.application_id,
               a.approved_area, 125
        FROM v_nr_housing_approval a LEFT JOIN ref_township t ON t.township = a.township
        WHERE a.status = '批准' AND a.approved_area > 125""",
    # 非本村村民审批: no agricultural registration in the village, not moved out by applied_on.
    "HOU03": """
        SELECT a.application_id, a.township,
               coalesce(t.name, a.township), a.village, coalesce(a.applicant_name, ''),
               a.applicant_id, a.application_id,
               a.applied_on
        FROM v_nr_housing_approval a LEFT JOIN ref_township t ON t.township = a.township
        WHERE a.status = '批准' AND NOT EXISTS (
          SELECT 1 FROM ps_household h
          WHERE h.person_id = a.applicant_id AND h.township = a.township
            AND h.village = a.village AND h.registration_type = '农业'
            AND (h.moved_out_on IS NULL OR h.moved_out_on > a.applied_on))""",
    # 审批超时: workdays after applied_on up to the earlier of approved_on and D, any status.
    "HOU04": """
        WITH a AS (
          SELECT application_id, township, village, applicant_name, applicant_id, applied_on,
                 least(coalesce(approved_on, {D}), {D}) AS ended
          FROM v_nr_housing_approval),
        u AS (
          SELECT a.*, (SELECT count(*) FROM ref_calendar c
                       WHERE c.is_workday AND c.day > a.applied_on AND c.day <= a.ended) AS used
          FROM a)
        SELECT u.application_id, u.township, coalesce(t.name, u.township), u.village,
               coalesce(u.applicant_name, ''), u.applicant_id, u.application_id, u.applied_on,
               u.ended, u.used, 20
        FROM u LEFT JOIN ref_township t ON t.township = u.township
        WHERE u.used > 20""",
    # 公职人员及亲属建房
    "HOU05": """
        SELECT a.application_id, a.township,
               coalesce(t.name, a.township), a.village, coalesce(a.applicant_name, ''),
               a.applicant_id, a.application_id,
               a.applied_on
        FROM v_nr_housing_approval a LEFT JOIN ref_township t ON t.township = a.township
        WHERE a.status = '批准' AND EXISTS (
          SELECT 1 FROM circle c WHERE c.township = a.township AND c.pid = a.applicant_id)""",
    # 死亡人员获批
    "HOU06": """
        SELECT a.application_id, a.township,
               coalesce(t.name, a.township), a.village, coalesce(a.applicant_name, d.name, ''),
               a.applicant_id, d.died_on,
               a.application_id, a.approved_on
        FROM v_nr_housing_approval a
        JOIN v_ca_death d ON d.person_id = a.applicant_id
        LEFT JOIN ref_township t ON t.township = a.township
        WHERE a.status = '批准' AND d.died_on < a.approved_on""",
    # 低价出租: rent below 70% of the asset's appraised annual rent.
    "AST01": """
        SELECT l.lease_id, l.township,
               coalesce(t.name, l.township), coalesce(l.village, ''), coalesce(a.kind, '资产'),
               a.asset_id,
               coalesce(l.lessee_name, l.lessee_id, '未登记的承租方'), l.lease_id, l.annual_rent,
               a.appraised_annual_rent, 0.70, 0.70 * a.appraised_annual_rent
        FROM v_ag_lease l JOIN ag_asset a ON a.asset_id = l.asset_id
        LEFT JOIN ref_township t ON t.township = l.township
        WHERE l.annual_rent < 0.70 * a.appraised_annual_rent""",
    # 应公开未公开: negotiated lease with rent >= 50000 or a term over 60 months.
    "AST02": """
        SELECT l.lease_id, l.township,
               coalesce(t.name, l.township), coalesce(l.village, ''), l.asset_id,
               coalesce(l.lessee_name, l.lessee_id, '未登记的承租方'),
               l.lease_id, l.annual_rent, l.start_on, l.end_on, 50000, 60
        FROM v_ag_lease l LEFT JOIN ref_township t ON t.township = l.township
        WHERE l.method = '协议出租'
          AND (l.annual_rent >= 50000 OR l.end_on > l.start_on + INTERVAL 60 MONTH)""",
    # 超期租赁: term over 240 months.
    "AST03": """
        SELECT l.lease_id, l.township,
               coalesce(t.name, l.township), coalesce(l.village, ''), l.asset_id,
               coalesce(l.lessee_name, l.lessee_id, '未登记的承租方'),
               l.lease_id, l.signed_on, l.start_on, l.end_on, 240
        FROM v_ag_lease l LEFT JOIN ref_township t ON t.township = l.township
        WHERE l.end_on > l.start_on + INTERVAL 240 MONTH""",
    # 租金拖欠: receipts past due + 90 days and not fully paid by D, one warning per lease.
    "AST04": """
        WITH r AS (
          SELECT lease_id, amount_due,
                 CASE WHEN paid_on <= {D} THEN coalesce(amount_paid, 0) ELSE 0 END AS paid, due_on
          FROM v_ag_rent_receipt WHERE due_on + 90 < {D}),
        o AS (
          SELECT lease_id, count(*) AS periods, sum(amount_due - paid) AS owed,
                 min(due_on) AS first_due
          FROM r WHERE paid < amount_due GROUP BY lease_id)
        SELECT l.lease_id, l.township,
               coalesce(t.name, l.township), coalesce(l.village, ''), l.asset_id, l.lease_id,
               coalesce(l.lessee_name, l.lessee_id, '未登记'), o.periods, 90, o.owed, o.first_due
        FROM o JOIN v_ag_lease l USING (lease_id)
        LEFT JOIN ref_township t ON t.township = l.township""",
    # 出租给关联方
    "AST05": """
        SELECT l.lease_id, l.township,
               coalesce(t.name, l.township), coalesce(l.village, ''), l.asset_id,
               coalesce(l.lessee_name, l.lessee_id),
               l.lessee_id, l.lease_id, l.method, l.annual_rent
        FROM v_ag_lease l LEFT JOIN ref_township t ON t.township = l.township
        WHERE EXISTS (SELECT 1 FROM related r
                      WHERE r.township = l.township AND r.code = l.lessee_id)""",
}
