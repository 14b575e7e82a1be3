// An environment's protection rules, edited by those who may
// (`viewerCanUpdate`: Owners and Release Managers): who may start or
// approve a deployment into it. The whole set is sent; all empty
// unprotects it. The server's problems are shown.
import { useState, type FormEvent } from "react";
import { useMutation } from "urql";
import { graphql, ProblemFields } from "../gql";
import { failureOf, namesOf } from "./common";

const Update = graphql(
  `
    mutation UpdateProtection($i: UpdateEnvironmentProtectionRulesInput!) {
      updateEnvironmentProtectionRules(input: $i) {
        environment {
          id
          protectionRules {
            protected
            roles
            principals {
              kind
              name
            }
          }
        }
        problems {
          ...ProblemFields
        }
      }
    }
  `,
  [ProblemFields],
);

const ROLES = ["OWNER", "RELEASE_MANAGER", "DEVELOPER", "VIEWER"] as const;
type Role = (typeof ROLES)[number];

export interface Rules {
  roles: readonly string[];
  principals: readonly { kind: string; name: string }[];
}

export function ProtectionForm({ environmentId, rules }: { environmentId: string; rules: Rules }) {
  const of = (kind: string) =>
    rules.principals
      .filter((p) => p.kind === kind)
      .map((p) => p.name)
      .join(", ");
  const [editing, setEditing] = useState(false);
  const [roles, setRoles] = useState<Role[]>(ROLES.filter((r) => rules.roles.includes(r)));
  const [users, setUsers] = useState(of("USER"));
  const [teams, setTeams] = useState(of("TEAM"));
  const [accounts, setAccounts] = useState(of("SERVICE_ACCOUNT"));
  const [outcome, setOutcome] = useState("");
  const [saving, save] = useMutation(Update);
  if (!editing)
    return (
      <p>
        <button type="button" onClick={() => setEditing(true)}>
          Edit the protection
        </button>{" "}
        <span role="status">{outcome}</span>
      </p>
    );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await save({
      i: {
        environmentId,
        roles,
        users: namesOf(users),
        teams: namesOf(teams),
        serviceAccounts: namesOf(accounts),
      },
    });
    const failed = failureOf(r.error, r.data?.updateEnvironmentProtectionRules.problems ?? []);
    setOutcome(failed ?? "Saved.");
    if (!failed) setEditing(false);
  };
  return (
    <form className="protection" aria-label="Protection rules" onSubmit={submit}>
      <fieldset>
        <legend>Roles that may deploy here (a higher role may too)</legend>
        {ROLES.map((role) => (
          <label key={role}>
            <input
              type="checkbox"
              checked={roles.includes(role)}
              onChange={(e) => setRoles(e.target.checked ? [...roles, role] : roles.filter((x) => x !== role))}
            />{" "}
            {role.toLowerCase().replace(/_/g, " ")}
          </label>
        ))}
      </fieldset>
      <label>
        Users <input value={users} placeholder="alice, bob" onChange={(e) => setUsers(e.target.value)} />
      </label>
      <label>
        Teams <input value={teams} placeholder="release-team" onChange={(e) => setTeams(e.target.value)} />
      </label>
      <label>
        Service accounts <input value={accounts} placeholder="acme/ci" onChange={(e) => setAccounts(e.target.value)} />
      </label>
      <p className="muted">All empty: the environment is not protected.</p>
      <p>
        <button type="submit" disabled={saving.fetching}>
          Save the protection
        </button>{" "}
        <button type="button" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </p>
      <p role="status">{outcome}</p>
    </form>
  );
}
