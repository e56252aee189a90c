/** The local GitHub simulator: test tooling, never part of the app's runtime path. */
export { startSimulator, type SimulatorOptions } from "./start-simulator.js";
export {
  GitHubSimulator,
  type DeliverOption,
  type InstallationView,
  type RepositoryView,
  type WaitForOptions,
  type WorkflowRunView,
} from "./simulator.js";
export type { StartRunInput } from "./model/workflow-runs.js";
export type { LatencySetting } from "./server/latency.js";
export type { RateLimitSetting, RateLimitState } from "./server/rate-limit.js";
export type { FaultSpec, ActiveFault, FaultSwitches } from "./faults.js";
export type { RecordedRequest, Violation } from "./server/handle-request.js";
export type { Delivery, RawDelivery, SpreadOptions } from "./webhooks/delivery.js";
export { signBody } from "./webhooks/delivery.js";
export { sealForPublicKey } from "./model/sealed-box.js";
export type { CreateRepoOptions } from "./model/state.js";
export type { OpenPullInput, PullEdit } from "./model/pulls.js";
export type { FileChanges } from "./model/git.js";
export type { RepoRole, ReviewState, TeamRole, SimAnnotation, CheckStatus } from "./model/types.js";
export type { CheckRunView, CommentView, EnvironmentView, PullRequestView, ReviewView } from "./views.js";
export { longestChain, sequentialRoundTrips, type TimedRequest } from "./request-chain.js";
