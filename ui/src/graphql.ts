// A GraphQL request to the server this page came from. Errors come back as
// one Error whose message says what failed, for the page to show.

export interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The data of a response, or an ApiError naming every error in it. */
export function dataOf<T>(body: GraphQLResponse<T>): T {
  if (body.errors && body.errors.length > 0) {
    const code = body.errors[0].extensions?.code;
    throw new ApiError(body.errors.map((e) => e.message).join("; "), code);
  }
  if (body.data == null) {
    throw new ApiError("the server answered without data or errors");
  }
  return body.data;
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    throw new ApiError(`the server cannot be reached (${String(e)}); check that phobos is running`);
  }
  if (!response.ok && response.headers.get("content-type")?.includes("json") !== true) {
    throw new ApiError(`the server answered ${response.status} ${response.statusText}`);
  }
  return dataOf((await response.json()) as GraphQLResponse<T>);
}

/** A mutation's problems as one line each: `field: message (line:column)`. */
export function problemLines(
  problems: readonly { field?: string | null; message: string; line?: number | null; column?: number | null }[],
): string[] {
  return problems.map((p) => {
    const at = p.line != null ? ` (${p.line}:${p.column ?? 1})` : "";
    return `${p.field ? `${p.field}: ` : ""}${p.message}${at}`;
  });
}
