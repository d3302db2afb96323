// Three tiers in one run: unit specs beside the code (*.spec.ts), integration specs against the
// real Postgres/Redis/S3 (*.int-spec.ts) and end-to-end/fault specs in test/ that start real
// processes from dist/ (*.e2e-spec.ts). @swc/jest compiles TypeScript (and the ESM-only NestJS
// packages, which Jest's CommonJS loader cannot require) to CommonJS.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs)/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  // The generated Prisma client imports its own TypeScript files with `.js` suffixes.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 60_000,
  // Fault tests start processes; a leaked handle must not keep CI waiting forever.
  forceExit: true,
};
