/**
 * A worker that asks instead of working: it changed nothing and its note ends in a question (or says
 * "QUESTION:"). Pure; the loop records the question for the human and moves on to other work.
 */
export function questionAsked(finalMessage: string, changedSomething: boolean): string | undefined {
  if (changedSomething) return undefined;
  const lines = finalMessage
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const marked = lines.find((line) => /^QUESTION:/i.test(line));
  if (marked !== undefined) return marked.replace(/^QUESTION:\s*/i, '');
  const last = lines.at(-1);
  return last?.endsWith('?') === true ? last : undefined;
}

/** The feature a question is about: the first failing feature it names, else the one in focus. */
export function featureOfQuestion(
  question: string,
  failing: readonly string[],
  focus: string | undefined,
): string | undefined {
  const named = failing.find((id) =>
    new RegExp(`(^|[^A-Za-z0-9_-])${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z0-9_-]|$)`).test(
      question,
    ),
  );
  return named ?? focus;
}
