/** `runway init [folder]`: scaffold a DAG repository that installs Runway as a package. */
import type { Command } from 'commander';
import { EXIT, type CliIo } from './io.ts';

export function addInitCommand(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('init')
    .description('scaffold a DAG repository here or in [folder]: dags/, policy, tsconfig, workflows, git hooks')
    .argument('[folder]', 'where to write (created if missing)', '.')
    .action(async (folder: string) => {
      const { initRepository, InitError } = await import('./init.ts');
      try {
        const result = await initRepository(folder);
        io.out(
          [
            `runway init: wrote ${result.written.length} files in ${result.folder}`,
            ...result.written.map((file) =>
              file === 'package.json' && result.packageJsonMerged ? '  package.json (added to it)' : `  ${file}`,
            ),
            'next: npm install (then git init, if this is not a repository yet, and npm install again for the hooks);',
            '      npx runway validate; npx runway dags test example__hello',
          ].join('\n'),
        );
      } catch (error) {
        if (!(error instanceof InitError)) throw error;
        io.err(`runway init: ${error.message}`);
        setExit(EXIT.failure);
      }
    });
}
