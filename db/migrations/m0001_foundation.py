"""0001: users and roles, audit, settings, and the core domain the telephony and ACD issues fill.

Money is stored in fen (integer hundredths of a yuan), times as ISO 8601 text in UTC with a 'Z'
(sortable, readable in the sqlite3 shell). The `calls` table follows Asterisk's CDR column names
where they exist so the usual reporting tools read it.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils

from db.migrations import MIGRATIONS


def run_sql(db: sqlite_utils.Database, script: str) -> None:
    """Run statements one by one: executescript() would COMMIT the migration's transaction."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            db.execute(buffer)
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer[:80]!r}")


SCHEMA = """
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE roles (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL
);
INSERT INTO roles VALUES
    ('agent', '座席 / agent'),
    ('teamlead', '班长 / team lead'),
    ('qa', '质检员 / QA'),
    ('admin', '系统管理员 / sysadmin');

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    agent_number TEXT UNIQUE,
    password_hash TEXT NOT NULL DEFAULT '',
    disabled INTEGER NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT 'zh',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL REFERENCES roles(name),
    PRIMARY KEY (user_id, role)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT 'ok',
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor, at);

CREATE TABLE districts (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT ''
);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT 'residential',
    vip INTEGER NOT NULL DEFAULT 0,
    blocked INTEGER NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT 'zh',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE customer_phones (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    phone TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'mobile',
    UNIQUE (customer_id, phone)
);
CREATE INDEX customer_phones_phone ON customer_phones(phone);

CREATE TABLE accounts (
    account_no TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    utility TEXT NOT NULL DEFAULT 'water',
    address TEXT NOT NULL,
    district_code TEXT REFERENCES districts(code),
    meter_no TEXT,
    balance_fen INTEGER NOT NULL DEFAULT 0,
    arrears_fen INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active',
    opened_at TEXT NOT NULL
);
CREATE INDEX accounts_customer ON accounts(customer_id);
CREATE INDEX accounts_district ON accounts(district_code);
CREATE INDEX accounts_meter ON accounts(meter_no);

CREATE TABLE bills (
    id INTEGER PRIMARY KEY,
    account_no TEXT NOT NULL REFERENCES accounts(account_no) ON DELETE CASCADE,
    period TEXT NOT NULL,
    usage REAL NOT NULL DEFAULT 0,
    amount_fen INTEGER NOT NULL,
    issued_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    paid_fen INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_no, period)
);

CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    account_no TEXT NOT NULL REFERENCES accounts(account_no) ON DELETE CASCADE,
    paid_at TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    channel TEXT NOT NULL DEFAULT 'counter'
);
CREATE INDEX payments_account ON payments(account_no, paid_at);

CREATE TABLE meter_readings (
    id INTEGER PRIMARY KEY,
    account_no TEXT NOT NULL REFERENCES accounts(account_no) ON DELETE CASCADE,
    read_at TEXT NOT NULL,
    reading REAL NOT NULL,
    usage REAL NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT 'reader'
);
CREATE INDEX meter_readings_account ON meter_readings(account_no, read_at);

CREATE TABLE outages (
    id INTEGER PRIMARY KEY,
    utility TEXT NOT NULL DEFAULT 'water',
    district_code TEXT NOT NULL REFERENCES districts(code),
    area TEXT NOT NULL,
    area_en TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'planned' CHECK (kind IN ('planned', 'unplanned')),
    cause TEXT NOT NULL DEFAULT '',
    cause_en TEXT NOT NULL DEFAULT '',
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX outages_district ON outages(district_code, starts_at, ends_at);

CREATE TABLE skills (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE queues (
    name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    strategy TEXT NOT NULL DEFAULT 'longest_idle',
    wrap_up_s INTEGER NOT NULL DEFAULT 30,
    sl_target_s INTEGER NOT NULL DEFAULT 20,
    ring_timeout_s INTEGER NOT NULL DEFAULT 20,
    max_wait_s INTEGER NOT NULL DEFAULT 600,
    settings TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE queue_skills (
    queue TEXT NOT NULL REFERENCES queues(name) ON DELETE CASCADE,
    skill TEXT NOT NULL REFERENCES skills(name),
    min_level INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (queue, skill)
);

CREATE TABLE agent_skills (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    skill TEXT NOT NULL REFERENCES skills(name),
    level INTEGER NOT NULL DEFAULT 5 CHECK (level BETWEEN 1 AND 10),
    PRIMARY KEY (user_id, skill)
);

CREATE TABLE stations (
    name TEXT PRIMARY KEY,
    uri TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'sip',
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    start TEXT NOT NULL,
    answer TEXT,
    "end" TEXT,
    src TEXT NOT NULL DEFAULT '',
    dst TEXT NOT NULL DEFAULT '',
    direction TEXT NOT NULL DEFAULT 'in',
    channel TEXT NOT NULL DEFAULT '',
    disposition TEXT NOT NULL DEFAULT 'IN PROGRESS',
    hangup_cause INTEGER,
    hangup_by TEXT,
    duration REAL,
    billsec REAL,
    customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
    account_no TEXT,
    vip INTEGER NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT 'zh',
    ivr_path TEXT NOT NULL DEFAULT '[]',
    digits TEXT NOT NULL DEFAULT '',
    queue TEXT,
    agent TEXT,
    station TEXT,
    wait_s REAL,
    talk_s REAL,
    hold_s REAL,
    wrap_s REAL,
    wrap_code TEXT,
    note TEXT NOT NULL DEFAULT '',
    userfield TEXT NOT NULL DEFAULT ''
);
CREATE INDEX calls_start ON calls(start);
CREATE INDEX calls_src ON calls(src, start);
CREATE INDEX calls_customer ON calls(customer_id, start);

CREATE TABLE call_events (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX call_events_call ON call_events(call_id, id);

CREATE TABLE recordings (
    id INTEGER PRIMARY KEY,
    call_id TEXT REFERENCES calls(id) ON DELETE SET NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'call',
    seconds REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX recordings_call ON recordings(call_id);

CREATE TABLE agent_state_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    agent TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    station TEXT,
    call_id TEXT,
    by_user TEXT
);
CREATE INDEX agent_state_log_agent ON agent_state_log(agent, at);
CREATE INDEX agent_state_log_at ON agent_state_log(at);

CREATE TABLE queue_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    queue TEXT NOT NULL,
    call_id TEXT,
    agent TEXT,
    event TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX queue_events_at ON queue_events(at);
CREATE INDEX queue_events_call ON queue_events(call_id);
"""


@MIGRATIONS(name="0001_foundation")
def m0001_foundation(db: sqlite_utils.Database) -> None:
    run_sql(db, SCHEMA)
