/** The bots module: bots and their settings. Other modules reach it only through here. */
export { bots } from './tables.ts'
export { BotService, type Bot, type BotStatus } from './service.ts'
export { defaultBotSettings, type BotSettings } from './settings.ts'
export { botRoutes, type BotRouteServices } from './routes.ts'
