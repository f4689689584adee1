import { sanitizeText, singleLine } from '../../util/text.ts';

/**
 * Escaping for the receipt's renderers. Almost everything in a receipt is worker-influenced (feature
 * titles and ids, verify commands, the judge's reasons that quote check output, handoffs, guard details,
 * ref names): it is data, never markup. Control and bidi characters go first (sanitizeText), then
 * whatever the target format would read as syntax.
 */

const htmlEntities: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text for an HTML element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return sanitizeText(text).replace(/[&<>"']/g, (character) => htmlEntities[character] ?? character);
}

/**
 * One line of worker text inside markdown (a PR body): on one line, so it cannot start a heading, a list
 * or a fence; HTML and entities written as text (GitHub renders raw HTML in markdown); every markdown
 * punctuation that acts mid-line backslash-escaped (no links, images, emphasis, code or a table cell
 * ended early: what acts only at a line's start cannot, on one line after a prefix); and `@` made
 * an entity so a worker cannot mention (notify) people from a PR body.
 */
export function escapeMarkdown(text: string): string {
  // Punctuation first: the entities added after it must stay entities.
  return singleLine(text)
    .replace(/[\\`*_{}[\]()#|~]/g, (character) => `\\${character}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@/g, '&#64;');
}

/** Worker text as a markdown code span: backticks cannot close it, pipes cannot end a table cell. */
export function markdownCode(text: string): string {
  const line = singleLine(text).replace(/`/g, "'").replace(/\|/g, '\\|');
  return line === '' ? '' : `\`${line}\``;
}
