/** `@sandport/daytona`: Daytona sandboxes through the official `@daytonaio/sdk`. */
export { daytonaCapabilities } from "./daytona-capabilities.ts";
export {
  createDaytonaProvider,
  DaytonaProvider,
  type DaytonaProviderSettings,
  daytonaProviderFactory,
} from "./daytona-provider.ts";
export { daytonaSettingsSchema, daytonaTypeInfo } from "./daytona-settings.ts";
