/** The bots module: bots and their settings. */
export { bots } from './tables.ts'
