"""The tables the ECS stand-in creates at `migrate`: the real ECS/Django 1.8 table and
column names for what the helper scripts touch (auth_*, users_userprofile,
users_usersettings, core_ethicscommission, pki_*, django_migrations), types as Django 1.8
makes them on PostgreSQL (e.g. auth_user.first_name varchar(30): longer names fail as
in the real application)."""

MIGRATIONS = [
    ('contenttypes', '0001_initial', '''
CREATE TABLE IF NOT EXISTS django_content_type (
    id serial PRIMARY KEY, app_label varchar(100) NOT NULL, model varchar(100) NOT NULL,
    UNIQUE (app_label, model));
'''),
    ('auth', '0001_initial', '''
CREATE TABLE IF NOT EXISTS auth_group (id serial PRIMARY KEY, name varchar(80) NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS auth_user (
    id serial PRIMARY KEY, password varchar(128) NOT NULL, last_login timestamptz NULL,
    is_superuser boolean NOT NULL, username varchar(30) NOT NULL UNIQUE,
    first_name varchar(30) NOT NULL, last_name varchar(30) NOT NULL, email varchar(254) NOT NULL,
    is_staff boolean NOT NULL, is_active boolean NOT NULL, date_joined timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS auth_user_groups (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES auth_user (id) DEFERRABLE INITIALLY DEFERRED,
    group_id integer NOT NULL REFERENCES auth_group (id) DEFERRABLE INITIALLY DEFERRED,
    UNIQUE (user_id, group_id));
'''),
    ('core', '0001_initial', '''
CREATE TABLE IF NOT EXISTS core_ethicscommission (
    id serial PRIMARY KEY, uuid varchar(32) NOT NULL UNIQUE, name varchar(120) NOT NULL,
    city varchar(80) NOT NULL);
'''),
    ('users', '0001_initial', '''
CREATE TABLE IF NOT EXISTS users_userprofile (
    id serial PRIMARY KEY,
    user_id integer NOT NULL UNIQUE REFERENCES auth_user (id) DEFERRABLE INITIALLY DEFERRED,
    last_password_change timestamptz NOT NULL, is_phantom boolean NOT NULL,
    is_indisposed boolean NOT NULL,
    communication_proxy_id integer NULL REFERENCES auth_user (id) DEFERRABLE INITIALLY DEFERRED,
    is_board_member boolean NOT NULL, is_resident_member boolean NOT NULL,
    is_omniscient_member boolean NOT NULL, is_executive boolean NOT NULL,
    is_internal boolean NOT NULL, can_have_tasks boolean NOT NULL,
    can_have_open_tasks boolean NOT NULL, is_testuser boolean NOT NULL,
    session_key varchar(40) NULL, gender varchar(1) NOT NULL, title varchar(30) NOT NULL,
    organisation varchar(180) NOT NULL, jobtitle varchar(130) NOT NULL,
    swift_bic varchar(11) NOT NULL, iban varchar(40) NOT NULL, address1 varchar(60) NOT NULL,
    address2 varchar(60) NOT NULL, zip_code varchar(10) NOT NULL, city varchar(80) NOT NULL,
    phone varchar(50) NOT NULL, fax varchar(45) NOT NULL, signing_connector varchar(9) NOT NULL,
    forward_messages_after_minutes integer NOT NULL CHECK (forward_messages_after_minutes >= 0),
    task_uids varchar(100)[] NOT NULL);
CREATE TABLE IF NOT EXISTS users_usersettings (
    id serial PRIMARY KEY,
    user_id integer NOT NULL UNIQUE REFERENCES auth_user (id) DEFERRABLE INITIALLY DEFERRED,
    submission_filter_search text NOT NULL, submission_filter_all text NOT NULL,
    submission_filter_widget text NOT NULL, submission_filter_widget_internal text NOT NULL,
    submission_filter_mine text NOT NULL, submission_filter_assigned text NOT NULL,
    task_filter text NULL, useradministration_filter text NOT NULL);
'''),
    ('pki', '0001_initial', '''
CREATE TABLE IF NOT EXISTS pki_certificateauthority (
    id serial PRIMARY KEY, key text NOT NULL, cert text NOT NULL);
CREATE TABLE IF NOT EXISTS pki_certificate (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES auth_user (id) DEFERRABLE INITIALLY DEFERRED,
    cn varchar(64) NOT NULL UNIQUE, subject text NOT NULL, serial integer NOT NULL UNIQUE,
    created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, revoked_at timestamptz NULL);
'''),
]

DJANGO_MIGRATIONS = '''
CREATE TABLE IF NOT EXISTS django_migrations (
    id serial PRIMARY KEY, app varchar(255) NOT NULL, name varchar(255) NOT NULL,
    applied timestamptz NOT NULL);
'''

# ecs: ecs/core/bootstrap.py auth_groups()
GROUPS = (
    'Board Member', 'EC-Executive', 'EC-Office', 'EC-Signing', 'External Reviewer',
    'GCP Reviewer', 'Insurance Reviewer', 'Meeting Protocol Receiver',
    'Omniscient Board Member', 'Resident Board Member', 'Specialist', 'Statistic Reviewer',
    'Userswitcher Target',
)
