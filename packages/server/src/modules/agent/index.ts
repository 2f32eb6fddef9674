/**
 * The agent module: one turn of a bot (context and settings in, stream events
 * out, the finished reply returned), the model registry with its providers,
 * tools and reply formatting. It stores nothing of a conversation: the
 * conversations module hands it what it needs and keeps what it returns.
 */
export { runTurn, type StreamEvent, type TurnContext, type TurnDeps, type TurnInput, type TurnResult, type PendingApproval, type Usage } from './turn.ts'
export { type ThreadActions } from './tools.ts'
export { type Recalled } from './instructions.ts'
export { ModelRegistry, splitModelId, type CompatibleProvider, type ProviderConfig } from './models.ts'
