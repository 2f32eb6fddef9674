/**
 * The integrations module: a project's connections to external platforms (the spec's
 * Integrations API), each vendor's credentials and profile (`vendors/`), and the chats an
 * integration's conversations run in. Channels (messaging through a vendor) build on it.
 */
export { integrations } from './tables.ts'
export { vendorFetch } from './vendor-fetch.ts'
export { oauthStates } from './oauth/tables.ts'
export { OAuthFlow, type OAuthFlowOptions } from './oauth/flow.ts'
export { OAuthRefresher, type OAuthRefreshOptions } from './oauth/refresh.ts'
export { oauthCallbackRoutes } from './oauth/routes.ts'
export { IntegrationService, toIntegration, type Integration, type IntegrationRow, type VendorRegistry } from './service.ts'
export { integrationRoutes, type IntegrationRouteServices } from './routes.ts'
export { ChannelInbound, type InboundAdapter, type InboundMessage } from './channels/inbound.ts'
export { ChannelSender, type ChannelSenderOptions } from './channels/sender.ts'
export { releaseChannelClaims } from './channels/claims.ts'
export { channelDeliveryWriter, channelDeliveryMarker } from './channels/delivery-writer.ts'
export { channelRoutes } from './channels/routes.ts'
export { telegramInbound } from './channels/telegram/inbound.ts'
export { telegramOutbound } from './channels/telegram/outbound.ts'
export { TelegramConnector, type TelegramConnectorOptions } from './channels/telegram/connector.ts'
export { INTEGRATION_VENDORS, CredentialsRefused, VendorUnavailable, type IntegrationVendor, type VendorDefinition, type IntegrationProfile } from './vendors/types.ts'
