import { describe, expect, it } from 'vitest';
import { sessionEnvironment } from '../src/core/session.ts';

describe("a session's environment", () => {
  it('takes who the session is from the harness alone, never from variables left in its own environment', () => {
    const base = {
      PATH: '/usr/bin',
      BATON_TASK_ID: 'forged',
      BATON_PORT_BASE: '1',
      BATON_ROLE: 'planner',
      BATON_HANDOFF_FILE: '/etc/passwd',
      BATON_FAULT: 'kept for the harness itself',
    };
    const serial = sessionEnvironment(
      base,
      { runId: 'r1', role: 'worker', workspace: '/w', iteration: 3 },
      '/s/tmp',
    );
    expect(serial).toMatchObject({
      PATH: '/usr/bin',
      BATON_RUN_ID: 'r1',
      BATON_ROLE: 'worker',
      BATON_ITERATION: '3',
      TMPDIR: '/s/tmp',
    });
    for (const name of ['BATON_TASK_ID', 'BATON_PORT_BASE', 'BATON_HANDOFF_FILE']) {
      expect(serial).not.toHaveProperty(name);
    }
    const parallel = sessionEnvironment(
      base,
      {
        runId: 'r1',
        role: 'worker',
        workspace: '/w',
        task: { id: 'a', attempt: 2, slot: 2, portBase: 4000, portCount: 10 },
      },
      '/s/tmp',
    );
    expect(parallel).toMatchObject({ BATON_TASK_ID: 'a', BATON_TASK_ATTEMPT: '2', BATON_PORT_BASE: '4010' });
  });
});
