import type { AppContext, View } from '../app-context';
import { h } from '../dom';

/**
 * The admin view (role `admin` only). PLACEHOLDER of the scaffold, replaced by the admin view
 * (gateways and drain, a room's owner/epoch/snapshot, exports).
 */
export function mountAdminView(root: HTMLElement, _ctx: AppContext): View {
  const section = h('section', { id: 'admin-view' }, h('h2', {}, 'Admin'));
  root.replaceChildren(section);
  return { unmount: () => section.remove() };
}
