/** The version, from package.json alone: the CLI's --version, the server's serverInfo and the SARIF driver say the same. */
import pkg from '../../package.json';

export const VERSION: string = pkg.version;
