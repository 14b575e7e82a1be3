// Writing a pipeline template: the server checks it as it is typed
// (validatePipelineTemplate stores nothing) and each problem is shown at
// its line and column; Create stores it. Loaded only when opened.
import { useEffect, useRef, useState } from "react";
import { useClient, useMutation } from "urql";
import { graphql, ProblemFields } from "../gql";
import { problemLines } from "../graphql";

const Validate = graphql(
  `
    query ValidateTemplate($projectId: ID!, $hcl: String!) {
      validatePipelineTemplate(projectId: $projectId, hcl: $hcl) {
        problems {
          ...ProblemFields
        }
      }
    }
  `,
  [ProblemFields],
);

const Create = graphql(
  `
    mutation CreateTemplate($i: CreatePipelineTemplateInput!) {
      createPipelineTemplate(input: $i) {
        pipelineTemplate {
          id
          name
        }
        problems {
          ...ProblemFields
        }
      }
    }
  `,
  [ProblemFields],
);

type Problem = { field?: string | null; message: string; line?: number | null; column?: number | null };

export default function TemplateEditor({
  projectId,
  onCreated,
  onCancel,
}: {
  projectId: string;
  onCreated: () => void;
  onCancel: () => void;
}) {
  const client = useClient();
  const [name, setName] = useState("");
  const [hcl, setHcl] = useState("");
  const [problems, setProblems] = useState<Problem[]>([]);
  const [checked, setChecked] = useState(false);
  const [created, create] = useMutation(Create);
  const area = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (!hcl.trim()) {
      setProblems([]);
      setChecked(false);
      return;
    }
    const timer = setTimeout(async () => {
      const r = await client.query(Validate, { projectId, hcl }, { requestPolicy: "network-only" }).toPromise();
      if (r.data) {
        setProblems(r.data.validatePipelineTemplate.problems);
        setChecked(true);
      } else if (r.error) {
        setProblems([{ message: r.error.message }]);
      }
    }, 300);
    return () => clearTimeout(timer);
  }, [hcl, projectId, client]);
  const jump = (p: Problem) => {
    const t = area.current;
    if (!t || p.line == null) return;
    const lines = hcl.split("\n");
    const at = lines.slice(0, p.line - 1).reduce((n, l) => n + l.length + 1, 0) + (p.column ?? 1) - 1;
    t.focus();
    t.setSelectionRange(at, at);
  };
  const submit = async () => {
    const r = await create({ i: { projectId, name, hcl } });
    if (r.data?.createPipelineTemplate.pipelineTemplate) onCreated();
    else setProblems(r.error ? [{ message: r.error.message }] : (r.data?.createPipelineTemplate.problems ?? []));
  };
  return (
    <form
      className="editor"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h4>New pipeline template</h4>
      <label>
        Name
        <input name="name" required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        HCL
        <textarea
          ref={area}
          name="hcl"
          rows={18}
          spellCheck={false}
          value={hcl}
          onChange={(e) => setHcl(e.target.value)}
          aria-describedby="template-problems"
        />
      </label>
      <div id="template-problems" aria-live="polite">
        {problems.length > 0 ? (
          <ul className="problems">
            {problems.map((p, i) => (
              <li key={i}>
                <button type="button" className="link" onClick={() => jump(p)}>
                  {problemLines([p])[0]}
                </button>
              </li>
            ))}
          </ul>
        ) : (
          checked && <p className="ok">No problems found.</p>
        )}
      </div>
      <div className="row">
        <button type="submit" disabled={created.fetching || !name || !hcl}>
          Create
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
