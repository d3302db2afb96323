/**
 * Imported first by the CLI: drops the AWS SDK's notice about future Node versions, which would
 * otherwise clutter every command's output; every other process warning is still printed.
 */
process.removeAllListeners('warning');
process.on('warning', (warning: Error) => {
  if (warning.name === 'NodeVersionSupportWarning' || warning.message.includes('NodeVersionSupportWarning')) return;
  process.stderr.write(`warning: ${warning.name}: ${warning.message}\n`);
});
