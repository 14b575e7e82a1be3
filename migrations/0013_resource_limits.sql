-- Resource limits (issue 9). Each limit is checked by a trigger on the
-- event log, in the transaction that appends the event it limits, with the
-- count kept in `resource_counts` (its row lock serializes concurrent
-- appends to one scope). Values: `resource_limits`, kept by the projector
-- from `ResourceLimitUpdated` events, over the defaults seeded here (the
-- same as `api/src/limits.rs`, which a test compares).
CREATE TABLE resource_limits (
    name  text PRIMARY KEY,
    value integer NOT NULL CHECK (value >= 0)
);
INSERT INTO resource_limits (name, value) VALUES
    ('ResourceLimitMembershipsPerOrganization', 1000),
    ('ResourceLimitProjectsPerOrganization', 1000),
    ('ResourceLimitPipelineTemplatesPerProject', 10000),
    ('ResourceLimitPipelinesPerProjectPerHour', 10000),
    ('ResourceLimitNodesPerPipeline', 10000);

CREATE TABLE resource_counts (
    key   text PRIMARY KEY,
    count integer NOT NULL
);

CREATE FUNCTION phobos_resource_limit(limit_name text, k text, delta integer, what text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    allowed integer;
BEGIN
    INSERT INTO resource_counts (key, count) VALUES (k, delta)
        ON CONFLICT (key) DO UPDATE SET count = resource_counts.count + delta
        RETURNING count INTO n;
    IF delta <= 0 THEN
        RETURN;
    END IF;
    SELECT value INTO allowed FROM resource_limits WHERE name = limit_name;
    IF allowed IS NOT NULL AND n > allowed THEN
        RAISE EXCEPTION 'phobos_resource_limit: % would be % over % (the limit is %); an administrator may raise it with updateResourceLimit(input: {name: "%", value: ...})',
            what, n, limit_name, allowed, limit_name
            USING ERRCODE = 'P0001';
    END IF;
END;
$$;

CREATE FUNCTION events_check_limits() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    org text;
    nodes integer;
    allowed integer;
BEGIN
    IF NEW.aggregate_type = 'Project' AND NEW.event_type = 'ProjectCreated' THEN
        PERFORM phobos_resource_limit('ResourceLimitProjectsPerOrganization',
            'projects:' || (NEW.payload->'ProjectCreated'->>'organization_id'), 1,
            'the organization''s projects');
    ELSIF NEW.event_type IN ('MembershipCreated', 'MembershipDeleted')
          AND NEW.aggregate_type IN ('Organization', 'Project') THEN
        IF NEW.aggregate_type = 'Organization' THEN
            org := NEW.aggregate_id;
        ELSE
            SELECT payload->'ProjectCreated'->>'organization_id' INTO org FROM events
             WHERE aggregate_type = 'Project' AND aggregate_id = NEW.aggregate_id
             ORDER BY sequence LIMIT 1;
        END IF;
        PERFORM phobos_resource_limit('ResourceLimitMembershipsPerOrganization',
            'memberships:' || org,
            CASE WHEN NEW.event_type = 'MembershipCreated' THEN 1 ELSE -1 END,
            'the memberships of the organization and its projects');
    ELSIF NEW.aggregate_type = 'PipelineTemplate' AND NEW.event_type = 'PipelineTemplateCreated' THEN
        PERFORM phobos_resource_limit('ResourceLimitPipelineTemplatesPerProject',
            'templates:' || (NEW.payload->'PipelineTemplateCreated'->>'project_id'), 1,
            'the project''s pipeline templates');
    ELSIF NEW.aggregate_type = 'Pipeline' AND NEW.event_type = 'PipelineCreated'
          AND jsonb_typeof(NEW.payload->'PipelineCreated'->'origin'->'parent') IS DISTINCT FROM 'object' THEN
        -- Pipelines created by someone (a node's child counts with its
        -- root: refusing it would fail a pipeline already running).
        PERFORM phobos_resource_limit('ResourceLimitPipelinesPerProjectPerHour',
            'pipelines:' || (NEW.payload->'PipelineCreated'->>'project_id') || ':'
                || to_char(date_trunc('hour', (NEW.payload->'PipelineCreated'->>'created_at')::timestamptz AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24'),
            1, 'the pipelines created in the project this hour');
        SELECT COALESCE(sum(jsonb_array_length(s->'nodes')), 0) INTO nodes
          FROM jsonb_array_elements(NEW.payload->'PipelineCreated'->'graph'->'stages') s;
        SELECT value INTO allowed FROM resource_limits WHERE name = 'ResourceLimitNodesPerPipeline';
        IF allowed IS NOT NULL AND nodes > allowed THEN
            RAISE EXCEPTION 'phobos_resource_limit: the pipeline has % nodes, over ResourceLimitNodesPerPipeline (the limit is %); an administrator may raise it with updateResourceLimit(input: {name: "ResourceLimitNodesPerPipeline", value: ...})',
                nodes, allowed
                USING ERRCODE = 'P0001';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER events_check_limits
    BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_check_limits();
