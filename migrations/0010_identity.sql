-- Identity and access (issue 9): users, teams, memberships.
CREATE TABLE users (
    id          uuid PRIMARY KEY,
    username    text NOT NULL UNIQUE,
    email       text,
    issuer      text NOT NULL,
    subject     text NOT NULL,
    admin       boolean NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE teams (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    description text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE team_members (
    team_id     uuid NOT NULL,
    user_id     uuid NOT NULL,
    username    text NOT NULL,
    maintainer  boolean NOT NULL,
    added_at    timestamptz NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- One row per membership; project_id is null for an organization's.
CREATE TABLE memberships (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    project_id      uuid,
    member_kind     text NOT NULL,
    member_id       uuid NOT NULL,
    member_name     text NOT NULL,
    role            text NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX memberships_member ON memberships (member_id);
CREATE INDEX memberships_scope ON memberships (organization_id, project_id);
