export {
  startFakeModelServer,
  type FakeModelServer,
  type FakeModelServerOptions,
  type RecordedRequest,
} from './server.ts';
export {
  fakeModelScriptSchema,
  type FakeModelScript,
  type FakeModelScriptInput,
  type FakeReply,
} from './script.ts';
export type { NormalizedRequest, Wire } from './request.ts';
