import type { ESLint } from 'eslint';

export declare const layerRanks: Readonly<Record<string, number>>;
declare const plugin: ESLint.Plugin;
export default plugin;
