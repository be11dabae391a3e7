/** Built by local/console/server.ts from statemachine/examples/ and events/ (file path → its JSON). */
declare module 'console-samples' {
  export const examples: Record<string, any>;
  export const events: Record<string, any>;
}
