"""Plain reference SQL (DuckDB) for the 35 models, to check the demo data before the engine exists.

Written from contract/models.md alone, independently of how the generator
plants its cases: each model is one query over views that apply the as-of
rule. Running them at the 12 month ends of 2021 must give back exactly the
planted truth (keys, first run, township of the first run).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

MONTH_ENDS = tuple(
    (dt.date(2021, m + 1, 1) if m < 12 else dt.date(2022, 1, 1)) - dt.timedelta(days=1)
    for m in range(1, 13)
)

EVENT_DATES = {
    "dr_project": "approved_on",
    "trade_tender": "published_on",
    "trade_bid": "submitted_at",
    "trade_contract": "signed_on",
    "build_change": "changed_on",
    "build_acceptance": "accepted_on",
    "build_settlement": "settled_on",
    "fin_payment": "paid_on",
    "fin_subsidy": "paid_on",
    "fin_fund": "allocated_on",
    "com_agreement": "signed_on",
    "com_incentive": "paid_on",
    "mkt_enterprise": "registered_on",
    "nr_housing_approval": "applied_on",
    "nr_homestead": "registered_on",
    "ps_vehicle": "registered_on",
    "ca_death": "died_on",
    "ca_assistance": "start_on",
    "ag_lease": "signed_on",
    "ag_rent_receipt": "due_on",
    "bank_account": "opened_on",
    "bank_txn": "txn_at",
    "town_reimbursement": "expense_on",
    "town_reception": "held_on",
    "town_decision": "decided_on",
}

# Each query returns (key, township). {D} is the as-of date literal.
MODELS: dict[str, str] = {
    "ENG01": """
        SELECT p.project_id, p.township FROM v_dr_project p
        WHERE p.investment >= 4000000 AND (p.status IS NULL OR p.status <> '终止')
          AND p.approved_on + INTERVAL 6 MONTH < {D}
          AND NOT EXISTS (SELECT 1 FROM v_trade_tender t WHERE t.project_id = p.project_id)""",
    "ENG02": """
        WITH c AS (
          SELECT c.amount, c.township,
                 CASE WHEN p.project_id IS NOT NULL AND p.parent_project_id IS NOT NULL
                      THEN p.parent_project_id ELSE c.project_id END AS root
          FROM v_trade_contract c LEFT JOIN v_dr_project p ON p.project_id = c.project_id
          WHERE c.tender_id IS NULL),
        g AS (SELECT root, min(township) AS t FROM c GROUP BY root
              HAVING count(*) >= 2 AND max(amount) < 4000000 AND sum(amount) >= 4000000)
        SELECT g.root, coalesce(r.township, g.t) FROM g
        LEFT JOIN v_dr_project r ON r.project_id = g.root""",
    "ENG03": """
        SELECT DISTINCT t.tender_id, t.township FROM v_trade_tender t
        JOIN v_trade_bid a ON a.tender_id = t.tender_id
        JOIN v_trade_bid b ON b.tender_id = t.tender_id
        WHERE a.bidder_code <> b.bidder_code AND (
          (a.contact_phone = b.contact_phone AND trim(a.contact_phone) <> '')
          OR (a.ip_address = b.ip_address AND trim(a.ip_address) <> ''))""",
    "ENG04": """
        SELECT DISTINCT t.tender_id, t.township FROM v_trade_tender t
        JOIN v_trade_bid a ON a.tender_id = t.tender_id
        JOIN v_trade_bid b ON b.tender_id = t.tender_id
        JOIN ent_persons pa ON pa.ent = a.bidder_code JOIN ent_persons pb ON pb.ent = b.bidder_code
        WHERE a.bidder_code <> b.bidder_code AND pa.pid = pb.pid""",
    "ENG05": """
        SELECT c.contract_id, c.township FROM v_trade_contract c
        JOIN (SELECT contract_id, sum(amount_delta) AS net FROM v_build_change GROUP BY 1) n
          USING (contract_id)
        WHERE n.net > 0.10 * c.amount""",
    "ENG06": """
        SELECT c.contract_id, c.township FROM v_trade_contract c
        JOIN (SELECT contract_id, sum(amount) AS paid FROM v_fin_payment GROUP BY 1) p
          USING (contract_id)
        LEFT JOIN (SELECT contract_id, sum(amount_delta) AS net FROM v_build_change GROUP BY 1) n
          USING (contract_id)
        WHERE p.paid > c.amount + coalesce(n.net, 0)""",
    "ENG07": """
        SELECT c.contract_id, c.township FROM v_trade_contract c
        LEFT JOIN (SELECT contract_id, min(accepted_on) AS ok FROM v_build_acceptance
                   WHERE result = '合格' GROUP BY 1) a USING (contract_id)
        LEFT JOIN (SELECT contract_id, sum(amount_delta) AS net FROM v_build_change GROUP BY 1) n
          USING (contract_id)
        WHERE c.kind = '工程'
          AND (SELECT coalesce(sum(p.amount), 0) FROM v_fin_payment p
               WHERE p.contract_id = c.contract_id AND (a.ok IS NULL OR p.paid_on < a.ok))
              > 0.80 * (c.amount + coalesce(n.net, 0))""",
    "ENG08": """
        SELECT c.contract_id, c.township FROM v_trade_contract c
        WHERE EXISTS (SELECT 1 FROM related r
                      WHERE r.township = c.township AND r.code = c.contractor_code)""",
    "INV01": """
        SELECT i.incentive_id, i.township FROM v_com_incentive i
        LEFT JOIN v_com_agreement a ON a.agreement_id = i.agreement_id
        WHERE i.agreement_id IS NULL OR a.agreement_id IS NULL OR a.signed_on > i.paid_on""",
    "INV02": """
        WITH s AS (SELECT enterprise_code, year, sum(amount) AS total FROM v_com_incentive
                   WHERE year IS NOT NULL GROUP BY 1, 2),
        big AS (SELECT enterprise_code, year, township, row_number() OVER (
                  PARTITION BY enterprise_code, year ORDER BY amount DESC, township) AS rn
                FROM v_com_incentive WHERE year IS NOT NULL)
        SELECT s.enterprise_code || '|' || CAST(s.year AS VARCHAR), b.township FROM s
        LEFT JOIN tax_annual x ON x.enterprise_code = s.enterprise_code AND x.year = s.year
        JOIN big b ON b.enterprise_code = s.enterprise_code AND b.year = s.year AND b.rn = 1
        WHERE s.total > 1.0 * coalesce(x.tax_paid, 0)""",
    "INV03": """
        WITH f AS (SELECT enterprise_code, paid_on, township, row_number() OVER (
                     PARTITION BY enterprise_code ORDER BY paid_on, township) AS rn
                   FROM v_com_incentive)
        SELECT e.enterprise_code, f.township FROM v_mkt_enterprise e
        JOIN f ON f.enterprise_code = e.enterprise_code AND f.rn = 1
        WHERE e.status IN ('注销', '吊销')
          AND e.status_changed_on BETWEEN f.paid_on AND f.paid_on + 365""",
    "INV04": """
        SELECT a.agreement_id, a.township FROM v_com_agreement a
        WHERE EXISTS (SELECT 1 FROM v_com_incentive i WHERE i.agreement_id = a.agreement_id)
          AND EXISTS (SELECT 1 FROM related r
                      WHERE r.township = a.township AND r.code = a.enterprise_code)""",
    "INV05": """
        SELECT enterprise_code || '|' || CAST(year AS VARCHAR), min(township) FROM v_com_incentive
        WHERE year IS NOT NULL GROUP BY enterprise_code, year
        HAVING count(DISTINCT township) >= 2""",
    "HOU01": """
        SELECT a.application_id, a.township FROM v_nr_housing_approval a
        WHERE a.status = '批准' AND EXISTS (SELECT 1 FROM v_nr_homestead h
              WHERE h.household_id = a.household_id AND h.registered_on < a.applied_on)""",
    "HOU02": """
        SELECT application_id, township FROM v_nr_housing_approval
        WHERE status = '批准' AND approved_area > 125""",
    "HOU03": """
        SELECT a.application_id, a.township FROM v_nr_housing_approval a
        WHERE a.status = '批准' AND NOT EXISTS (SELECT 1 FROM ps_household h
              WHERE h.person_id = a.applicant_id AND h.township = a.township
                AND h.village = a.village AND h.registration_type = '农业'
                AND (h.moved_out_on IS NULL OR h.moved_out_on > a.applied_on))""",
    "HOU04": """
        SELECT a.application_id, a.township FROM v_nr_housing_approval a
        WHERE (SELECT count(*) FROM ref_calendar c WHERE c.is_workday AND c.day > a.applied_on
               AND c.day <= least(coalesce(a.approved_on, {D}), {D})) > 20""",
    "HOU05": """
        SELECT a.application_id, a.township FROM v_nr_housing_approval a
        WHERE a.status = '批准' AND EXISTS (SELECT 1 FROM circle c
              WHERE c.township = a.township AND c.pid = a.applicant_id)""",
    "HOU06": """
        SELECT a.application_id, a.township FROM v_nr_housing_approval a
        WHERE a.status = '批准' AND EXISTS (SELECT 1 FROM v_ca_death d
              WHERE d.person_id = a.applicant_id AND d.died_on < a.approved_on)""",
    "AST01": """
        SELECT l.lease_id, l.township FROM v_ag_lease l JOIN ag_asset a ON a.asset_id = l.asset_id
        WHERE l.annual_rent < 0.70 * a.appraised_annual_rent""",
    "AST02": """
        SELECT lease_id, township FROM v_ag_lease WHERE method = '协议出租'
          AND (annual_rent >= 50000 OR end_on > start_on + INTERVAL 60 MONTH)""",
    "AST03": """
        SELECT lease_id, township FROM v_ag_lease WHERE end_on > start_on + INTERVAL 240 MONTH""",
    "AST04": """
        SELECT l.lease_id, l.township FROM v_ag_lease l WHERE EXISTS (
          SELECT 1 FROM v_ag_rent_receipt r WHERE r.lease_id = l.lease_id AND r.due_on + 90 < {D}
            AND (CASE WHEN r.paid_on IS NULL OR r.amount_paid IS NULL OR r.paid_on > {D}
                      THEN 0 ELSE r.amount_paid END) < r.amount_due)""",
    "AST05": """
        SELECT l.lease_id, l.township FROM v_ag_lease l
        WHERE EXISTS (SELECT 1 FROM related r
                      WHERE r.township = l.township AND r.code = l.lessee_id)""",
    "FUN01": """
        WITH s AS (SELECT s.recipient_id, s.program, s.township, row_number() OVER (
                     PARTITION BY s.recipient_id, s.program
                     ORDER BY s.paid_on DESC, s.township) AS rn
                   FROM v_fin_subsidy s JOIN v_ca_death d ON d.person_id = s.recipient_id
                   WHERE s.paid_on > d.died_on + 60)
        SELECT recipient_id || '|' || program, township FROM s WHERE rn = 1""",
    "FUN02": """
        SELECT recipient_id || '|' || program || '|' || period, min(township) FROM v_fin_subsidy
        WHERE period IS NOT NULL GROUP BY recipient_id, program, period HAVING count(*) >= 2""",
    "FUN03": """
        SELECT c.case_id, c.township FROM v_ca_assistance c
        WHERE EXISTS (SELECT 1 FROM circle k
                      WHERE k.township = c.township AND k.pid = c.person_id)""",
    "FUN04": """
        SELECT c.case_id, c.township FROM v_ca_assistance c
        WHERE c.kind IN ('低保', '特困') AND (c.end_on IS NULL OR c.end_on >= {D})
          AND (EXISTS (SELECT 1 FROM v_ps_vehicle v WHERE v.owner_id = c.person_id
                       AND (v.vehicle_type IS NULL OR v.vehicle_type <> '摩托车')
                       AND v.registered_on <= {D}
                       AND (v.deregistered_on IS NULL OR v.deregistered_on >= c.start_on))
               OR EXISTS (SELECT 1 FROM ent_persons p
                          JOIN v_mkt_enterprise e ON e.enterprise_code = p.ent
                          WHERE p.pid = c.person_id AND e.status = '存续'))""",
    "FUN05": """
        SELECT f.fund_id, f.township FROM v_fin_fund f
        WHERE f.spend_deadline_on < {D} AND coalesce((SELECT sum(p.amount) FROM v_fin_payment p
              WHERE p.fund_id = f.fund_id), 0) < 0.5 * f.amount""",
    "FUN06": """
        SELECT account_no, min(township) FROM v_fin_subsidy
        WHERE account_no IS NOT NULL AND trim(account_no) <> ''
        GROUP BY account_no HAVING count(DISTINCT recipient_id) >= 3""",
    "FIN01": """
        SELECT t.txn_id, a.township FROM v_bank_txn t
        JOIN v_bank_account a ON a.account_no = t.account_no
        WHERE t.direction = '付' AND t.channel IN ('柜面现金', 'ATM') AND t.amount >= 50000
          AND a.township IS NOT NULL""",
    "FIN02": """
        SELECT reception_id, township FROM v_town_reception
        WHERE coalesce(CASE WHEN guest_count <= 10 THEN staff_count > 3
                            ELSE staff_count > floor(guest_count / 3) END, false)
           OR coalesce(has_letter = false, false)
           OR coalesce(meal_cost / (guest_count + staff_count) > 150, false)""",
    "FIN03": """
        WITH v AS (SELECT *, strftime(expense_on, '%Y-%m') AS ym FROM v_town_reimbursement
                   WHERE vendor_name IS NOT NULL AND trim(vendor_name) <> ''),
        g AS (SELECT claimant_id, vendor_name, ym FROM v GROUP BY 1, 2, 3
              HAVING count(*) >= 3 AND max(amount) < 5000 AND sum(amount) >= 5000),
        l AS (SELECT claimant_id, vendor_name, ym, township, row_number() OVER (
                PARTITION BY claimant_id, vendor_name, ym
                ORDER BY expense_on DESC, township) AS rn FROM v)
        SELECT g.claimant_id || '|' || g.vendor_name || '|' || g.ym, l.township FROM g
        JOIN l USING (claimant_id, vendor_name, ym) WHERE l.rn = 1""",
    "FIN04": """
        SELECT p.payment_id, p.township FROM v_fin_payment p
        WHERE p.amount >= 300000 AND (p.economic_class IS NULL OR p.economic_class <> '工资福利')
          AND NOT EXISTS (SELECT 1 FROM v_town_decision d
              WHERE d.township = p.township AND d.decided_on <= p.paid_on AND (
                (p.contract_id IS NOT NULL AND d.contract_id = p.contract_id)
                OR (p.contract_id IS NULL AND d.contract_id IS NULL AND d.amount >= p.amount
                    AND d.decided_on >= p.paid_on - 180)))""",
    "FIN05": """
        SELECT p.payment_id, p.township FROM v_fin_payment p
        WHERE (p.economic_class IS NULL OR p.economic_class <> '工资福利')
          AND EXISTS (SELECT 1 FROM circle c
                      WHERE c.township = p.township AND c.pid = p.payee_code)""",
}

SHARED_VIEWS = """
    CREATE OR REPLACE TEMP VIEW circle AS
      SELECT township, person_id AS pid FROM sup_official
      UNION SELECT o.township, k.relative_id FROM sup_official o
            JOIN sup_kinship k ON k.official_id = o.person_id;
    CREATE OR REPLACE TEMP VIEW ent_persons AS
      SELECT enterprise_code AS ent, legal_rep_id AS pid FROM v_mkt_enterprise
        WHERE legal_rep_id IS NOT NULL
      UNION SELECT enterprise_code, person_id FROM mkt_shareholder;
    CREATE OR REPLACE TEMP VIEW related AS
      SELECT township, pid AS code FROM circle
      UNION SELECT c.township, e.ent FROM ent_persons e JOIN circle c ON c.pid = e.pid;
"""


def connect(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every source registered under its logical name."""
    con = duckdb.connect()
    for name, table in tables.items():
        con.register(name, table)
    return con


def set_as_of(con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table], as_of: dt.date) -> None:
    """(Re)define the v_* views that hide rows whose event date is after ``as_of``."""
    for name in tables:
        col = EVENT_DATES.get(name)
        where = f"WHERE {col} IS NULL OR CAST({col} AS DATE) <= DATE '{as_of}'" if col else ""
        con.execute(f"CREATE OR REPLACE TEMP VIEW v_{name} AS SELECT * FROM {name} {where}")
    con.execute(SHARED_VIEWS)


def run_model(con: duckdb.DuckDBPyConnection, model: str, as_of: dt.date) -> list[tuple[str, str]]:
    """Keys and townships one model raises as of a day."""
    sql = MODELS[model].format(D=f"DATE '{as_of}'")
    return [(str(k), str(t)) for k, t in con.execute(sql).fetchall()]


def reference_truth(tables: dict[str, pa.Table]) -> dict[tuple[str, str], tuple[str, dt.date]]:
    """Union over the 12 month-end runs: (model, key) -> (township of first run, first run)."""
    con = connect(tables)
    out: dict[tuple[str, str], tuple[str, dt.date]] = {}
    for as_of in MONTH_ENDS:
        set_as_of(con, tables, as_of)
        for model in MODELS:
            for key, town in run_model(con, model, as_of):
                out.setdefault((model, key), (town, as_of))
    return out
