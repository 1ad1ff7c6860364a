"""0002: work orders and their trail, departments, callbacks, surveys, SMS outbox, knowledge base.

Times are ISO 8601 UTC text with a 'Z' as in 0001. A work order's number (`WO-20261123-0042`)
comes from `work_order_seq`, one row per local day, bumped in the same transaction as the insert
so two agents never get the same number. Deadlines are stored as the moments they fall due
(`remind_at`, `deadline_at`); while a work order is paused they are NULL and the business time
still owed is kept in `remaining_s` / `remind_remaining_s`. `timer_at` is the next moment the
scheduler must look at a work order (NULL when nothing is pending), so its partial index holds only
the live ones.

The knowledge base keeps one row per article and language (`slug` + `lang`), a full snapshot per
version in `kb_versions`, and an external-content FTS5 index with the trigram tokenizer (Chinese
has no spaces to split words on; trigrams find any substring of three or more characters).
"""

from __future__ import annotations

import sqlite_utils

from db.migrations import MIGRATIONS
from db.migrations.m0001_foundation import run_sql

SCHEMA = """
CREATE TABLE departments (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    head_username TEXT,
    active INTEGER NOT NULL DEFAULT 1
);
INSERT INTO departments (code, name, name_en) VALUES
    ('repair', '抢修中心', 'Repair crew'),
    ('billing', '账务中心', 'Billing centre'),
    ('meter', '抄表中心', 'Meter reading centre'),
    ('connection', '报装中心', 'New connections office'),
    ('district', '区域营业所', 'District office'),
    ('service', '客户服务中心', 'Customer service centre');

CREATE TABLE department_members (
    department TEXT NOT NULL REFERENCES departments(code) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (department, user_id)
);

CREATE TABLE work_order_types (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    default_department TEXT REFERENCES departments(code),
    active INTEGER NOT NULL DEFAULT 1
);
INSERT INTO work_order_types (code, name, name_en, default_department) VALUES
    ('repair', '报修', 'Repair', 'repair'),
    ('complaint', '投诉', 'Complaint', 'service'),
    ('enquiry', '咨询', 'Enquiry', 'service'),
    ('billing', '账务', 'Billing', 'billing'),
    ('meter', '抄表异议', 'Meter reading dispute', 'meter'),
    ('new_connection', '报装', 'New connection', 'connection'),
    ('outage_report', '停水停电停气报告', 'Outage report', 'repair'),
    ('suggestion', '建议', 'Suggestion', 'service'),
    ('praise', '表扬', 'Praise', 'service');

CREATE TABLE work_order_seq (
    day TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);

CREATE TABLE work_orders (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL REFERENCES work_order_types(code),
    priority TEXT NOT NULL DEFAULT 'normal'
        CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
    status TEXT NOT NULL DEFAULT 'new',
    source TEXT NOT NULL DEFAULT 'agent',
    customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
    account_no TEXT,
    contact_name TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    district_code TEXT,
    description TEXT NOT NULL DEFAULT '',
    call_id TEXT,
    department TEXT REFERENCES departments(code),
    owner TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    dispatched_at TEXT,
    accepted_at TEXT,
    close_requested_at TEXT,
    closed_at TEXT,
    resolution TEXT NOT NULL DEFAULT '',
    deadline_clock TEXT NOT NULL DEFAULT 'business',
    remind_at TEXT,
    deadline_at TEXT,
    remaining_s REAL,
    remind_remaining_s REAL,
    reminded_at TEXT,
    escalated_at TEXT,
    timer_at TEXT,
    survey_sampled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX work_orders_customer ON work_orders(customer_id, created_at);
CREATE INDEX work_orders_phone ON work_orders(phone, created_at);
CREATE INDEX work_orders_status ON work_orders(status, created_at);
CREATE INDEX work_orders_department ON work_orders(department, status);
CREATE INDEX work_orders_created ON work_orders(created_at);
CREATE INDEX work_orders_timer ON work_orders(timer_at) WHERE timer_at IS NOT NULL;

CREATE TABLE work_order_events (
    id INTEGER PRIMARY KEY,
    work_order_id INTEGER NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    department TEXT,
    note TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX work_order_events_wo ON work_order_events(work_order_id, id);
CREATE INDEX work_order_events_at ON work_order_events(at);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    work_order_id INTEGER NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT 'recording',
    path TEXT NOT NULL,
    recording_id INTEGER REFERENCES recordings(id) ON DELETE SET NULL,
    note TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX attachments_wo ON attachments(work_order_id);

CREATE TABLE callbacks (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'request'
        CHECK (kind IN ('request', 'notify', 'survey')),
    phone TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
    work_order_id INTEGER REFERENCES work_orders(id) ON DELETE SET NULL,
    call_id TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'dialing', 'done', 'failed', 'cancelled')),
    due_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX callbacks_due ON callbacks(status, due_at);
CREATE INDEX callbacks_customer ON callbacks(customer_id, created_at);
CREATE INDEX callbacks_phone ON callbacks(phone, created_at);

CREATE TABLE surveys (
    id INTEGER PRIMARY KEY,
    work_order_id INTEGER REFERENCES work_orders(id) ON DELETE SET NULL,
    callback_id INTEGER REFERENCES callbacks(id) ON DELETE SET NULL,
    customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
    phone TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'answered', 'no_answer', 'refused')),
    score INTEGER,
    created_at TEXT NOT NULL,
    answered_at TEXT
);
CREATE INDEX surveys_customer ON surveys(customer_id, created_at);
CREATE INDEX surveys_phone ON surveys(phone, created_at);
CREATE INDEX surveys_wo ON surveys(work_order_id);

CREATE TABLE survey_answers (
    id INTEGER PRIMARY KEY,
    survey_id INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX survey_answers_survey ON survey_answers(survey_id);

CREATE TABLE sms_outbox (
    id INTEGER PRIMARY KEY,
    phone TEXT NOT NULL,
    body TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'zh',
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    work_order_id INTEGER REFERENCES work_orders(id) ON DELETE SET NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX sms_outbox_status ON sms_outbox(status, id);

CREATE TABLE holidays (
    day TEXT PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'off' CHECK (kind IN ('off', 'work')),
    name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE kb_articles (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL,
    lang TEXT NOT NULL DEFAULT 'zh',
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    phrasing TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    pinyin TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'retired')),
    version INTEGER NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    UNIQUE (slug, lang)
);
CREATE INDEX kb_articles_status ON kb_articles(status, category);

CREATE TABLE kb_versions (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    phrasing TEXT NOT NULL,
    category TEXT NOT NULL,
    tags TEXT NOT NULL,
    status TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (article_id, version)
);

CREATE VIRTUAL TABLE kb_fts USING fts5(
    title, body, phrasing, tags, pinyin,
    content='kb_articles', content_rowid='id', tokenize='trigram'
);

CREATE TRIGGER kb_articles_ai AFTER INSERT ON kb_articles BEGIN
    INSERT INTO kb_fts (rowid, title, body, phrasing, tags, pinyin)
    VALUES (new.id, new.title, new.body, new.phrasing, new.tags, new.pinyin);
END;

CREATE TRIGGER kb_articles_ad AFTER DELETE ON kb_articles BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body, phrasing, tags, pinyin)
    VALUES ('delete', old.id, old.title, old.body, old.phrasing, old.tags, old.pinyin);
END;

CREATE TRIGGER kb_articles_au AFTER UPDATE OF title, body, phrasing, tags, pinyin ON kb_articles
BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body, phrasing, tags, pinyin)
    VALUES ('delete', old.id, old.title, old.body, old.phrasing, old.tags, old.pinyin);
    INSERT INTO kb_fts (rowid, title, body, phrasing, tags, pinyin)
    VALUES (new.id, new.title, new.body, new.phrasing, new.tags, new.pinyin);
END;
"""


@MIGRATIONS(name="0002_workorders")
def m0002_workorders(db: sqlite_utils.Database) -> None:
    run_sql(db, SCHEMA)
