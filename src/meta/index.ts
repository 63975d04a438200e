/**
 * The `plexus` meta-plugin entry, loaded lazily by src/cli/plugins.ts when the binary runs as a
 * CNI plugin.
 */
export {createPlexusPlugin, type PlexusDeps} from './plugin.ts';
