// Who is signed in. The access token is kept in memory only (never in
// localStorage, a cookie or a URL), so a reload signs out; the page the
// user was on is kept in the URL and shown again after signing in.
import { useSyncExternalStore } from "react";

export interface Session {
  token: string;
  name: string;
}

let current: Session | null = null;
const listeners = new Set<() => void>();

export function signIn(session: Session) {
  current = session;
  listeners.forEach((l) => l());
}

export function signOut() {
  current = null;
  listeners.forEach((l) => l());
}

export function useSession(): Session | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => current,
  );
}
