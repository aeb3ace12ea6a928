import { type FormEvent, useState } from 'react';
import { Session, SignInError } from './api.js';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const session = new Session(String(form.get('client_id')), String(form.get('client_secret')));
    setBusy(true);
    setError(undefined);
    try {
      // Signing in is getting the first token.
      await session.tokens.get();
      onSignedIn(session);
    } catch (err) {
      setError(err instanceof SignInError ? err.message : `Could not reach the server: ${String(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title" className="card">
        <h1 id="signin-title">callhook console</h1>
        <p className="muted">
          Sign in with your application's client credentials. In demo mode, <code>npm start</code> prints
          them.
        </p>
        <label>
          Client id
          <input name="client_id" autoComplete="username" required />
        </label>
        <label>
          Client secret
          <input name="client_secret" type="password" autoComplete="current-password" required />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
