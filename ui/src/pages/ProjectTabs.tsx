// The tabs of a project's pages.
import { Link, type Route } from "../router";

export function ProjectTabs({ org, project, at }: { org: string; project: string; at: Route["page"] }) {
  const tabs = [
    { page: "project", label: "Pipelines" },
    { page: "releases", label: "Releases" },
    { page: "environments", label: "Environments" },
    { page: "activity", label: "Activity" },
  ] as const;
  return (
    <nav aria-label="Project" className="tabs">
      {tabs.map((t) => (
        <Link
          key={t.page}
          to={{ page: t.page, org, project }}
          aria-current={at === t.page || (t.page === "releases" && at === "release") ? "page" : undefined}
        >
          {t.label}
        </Link>
      ))}
    </nav>
  );
}
