import type { AuthResult } from './api';
import type { AppContext, View } from './app-context';
import { h } from './dom';

/** Sign in or sign up; on success the shell routes to the page that was asked for. */
export function mountAuthView(root: HTMLElement, ctx: AppContext, onSignedIn: () => void): View {
  const username = h('input', { id: 'auth-username', name: 'username', required: true, minlength: 3, maxlength: 32, pattern: '[a-z0-9_.\\-]+', autocomplete: 'username' });
  const password = h('input', { id: 'auth-password', name: 'password', type: 'password', required: true, minlength: 8, maxlength: 128, autocomplete: 'current-password' });
  const login = h('button', { type: 'submit', id: 'login', value: 'login' }, 'Log in');
  const register = h('button', { type: 'submit', id: 'register', value: 'register', class: 'secondary' }, 'Register');
  const form = h(
    'form',
    { id: 'auth-form', autocomplete: 'on' },
    h('label', {}, 'Username ', username),
    h('label', {}, 'Password ', password),
    h('div', { class: 'buttons' }, login, register),
    h('p', { class: 'hint' }, 'Usernames: 3–32 of a–z, 0–9, _ . -; passwords: 8–128 characters.'),
  );
  const section = h('section', { id: 'auth-view', 'aria-labelledby': 'auth-title' }, h('h2', { id: 'auth-title' }, 'Sign in or register'), form);

  let busy = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (busy) return;
    const action = (event as SubmitEvent).submitter === register ? 'register' : 'login';
    busy = true;
    ctx.clearError();
    ctx.api
      .post<AuthResult>(`/auth/${action}`, { username: username.value.trim(), password: password.value })
      .then((result) => {
        ctx.session.signIn(result);
        onSignedIn();
      })
      .catch((err: unknown) => ctx.showError(err))
      .finally(() => {
        busy = false;
      });
  });

  root.replaceChildren(section);
  username.focus();
  return { unmount: () => section.remove() };
}
