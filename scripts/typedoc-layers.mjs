// typedoc plugin: groups the API reference by layer. Every top-level export gets the
// @group of the layer its source file belongs to, so the index and the navigation list
// "Namespaces", "Links, addresses and routes", "nftables", "Networks", "DNS", "Errors"
// and "Netlink wire format" (ordered by typedoc.json's groupOrder) instead of one flat list of
// classes, interfaces and types. An explicit @group in a doc comment wins.
import { Comment, CommentTag, Converter } from 'typedoc';

/** Source path (relative to the repository, '/'-separated) prefix → group. First match wins. */
const LAYERS = [
  ['src/netns.ts', 'Namespaces'],
  ['src/rtnl/', 'Links, addresses and routes'],
  ['src/nft/', 'nftables'],
  ['src/network/', 'Networks'],
  ['src/dns/', 'DNS'],
  ['src/errors.ts', 'Errors'],
  ['src/netlink/', 'Netlink wire format'],
  ['src/native.ts', 'Netlink wire format'],
];

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const child of context.project.children ?? []) {
      const file = child.sources?.[0]?.fullFileName?.replaceAll('\\', '/');
      if (!file) continue;
      const layer = LAYERS.find(([prefix]) => file.includes(`/${prefix}`));
      if (!layer) continue;
      const comment = (child.comment ??= new Comment());
      if (comment.blockTags.some((t) => t.tag === '@group')) continue;
      comment.blockTags.push(new CommentTag('@group', [{ kind: 'text', text: layer[1] }]));
    }
  });
}
