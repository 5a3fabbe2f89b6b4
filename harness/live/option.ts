import { Option } from 'commander';

/** The flag, for every command that runs load: `cmd.addOption(prometheusOption())`. */
export function prometheusOption(): Option {
  return new Option(
    '--prometheus',
    'start a Prometheus (Debian package, see `mqdrill setup`) scraping the brokers and the harness during the run; ' +
      'its data stays in <out>/prometheus',
  );
}
