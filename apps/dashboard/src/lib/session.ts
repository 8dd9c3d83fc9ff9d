// The token lives in session storage: it goes away with the tab, and never leaves this origin
// except as the Authorization header of API calls.
const key = "skiff.token";

export function readToken(): string | null {
  return sessionStorage.getItem(key);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(key, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(key);
}
