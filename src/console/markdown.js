import DOMPurify from 'dompurify';
import { marked } from 'marked';

// Links in notes open outside the console and tell the target nothing.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

/** Note and message content is untrusted: Markdown to HTML, then every script, handler and unsafe URL removed. */
export function renderMarkdown(text) {
  return DOMPurify.sanitize(marked.parse(text, { gfm: true, async: false }));
}
