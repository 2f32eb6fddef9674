/** The system prompt's parts that come from memory: working memory and recalled messages. */

/** Mastra's default working-memory template: what the model fills in and keeps up to date. */
export const WORKING_MEMORY_TEMPLATE = `# User Information
- **First Name**:
- **Last Name**:
- **Location**:
- **Occupation**:
- **Interests**:
- **Goals**:
- **Events**:
- **Facts**:
- **Projects**:
`

export function workingMemoryInstruction(current: string | null): string {
  return [
    'WORKING MEMORY: a Markdown document you keep about this user and conversation across turns.',
    'When you learn something worth remembering (name, preferences, goals, facts), call the updateWorkingMemory tool with the WHOLE updated document; it replaces the old one.',
    'Do not mention the working memory to the user.',
    '<working_memory>',
    current ?? WORKING_MEMORY_TEMPLATE,
    '</working_memory>',
  ].join('\n')
}

/** An earlier message of the thread, recalled because it resembles the new one. */
export type Recalled = { seq: number; role: string; content: string }

export function recallInstruction(recalled: Recalled[]): string {
  const lines = recalled.map((message) => `[${message.role}]: ${message.content}`)
  return ['Earlier messages from this conversation that may be relevant (older than the recent history):', ...lines].join('\n')
}
