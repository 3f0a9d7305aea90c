/**
 * Variables whose values are secrets. The manifests read them from
 * Kubernetes Secrets, so a value found at synth time is refused rather
 * than written anywhere.
 */
export const SECRET_VARIABLES: readonly string[] = [
  ...['A_', 'B_', ''].flatMap((letter) => [0, 1].map((index) => `MORPHOGEN_SERVER_${letter}PAGE_PRG_KEY_${index}`)),
  'MORPHOGEN_ADMIN_BEARER_TOKEN',
  'MORPHOGEN_SERVER_A_ADMIN_BEARER_TOKEN',
  'MORPHOGEN_SERVER_B_ADMIN_BEARER_TOKEN',
];

/**
 * Returns one problem per secret variable that is set, naming where it was
 * found but never its value.
 */
export function secretVariableProblems(variables: Record<string, string | undefined>, source: (name: string) => string): string[] {
  return SECRET_VARIABLES
    .filter((name) => (variables[name] ?? '') !== '')
    .map((name) => {
      const fix = name.includes('PRG_KEY')
        ? 'store the PRG keys in the Secrets named by servers.{a,b}.prgKeys.secretName (`npm run keys -- generate` prints the commands)'
        : 'store the token in the Secret named by servers.{a,b}.adminToken';
      return `${name} (${source(name)}): secret values are never written to manifests; remove it and ${fix}`;
    });
}
