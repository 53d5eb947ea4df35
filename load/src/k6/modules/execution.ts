/** `k6/execution`: the scenario's and the VU's counters (exec.scenario, exec.vu). */
import { strict } from '../unsupported.js';
import { vu } from '../vu-context.js';

function assignment() {
  if (!vu.assignment)
    throw new Error(`exec.scenario and exec.vu are only defined in an iteration, not in ${vu.phase}`);
  return vu.assignment;
}

const exec = {
  get scenario() {
    return strict(
      {
        name: assignment().scenario,
        iterationInTest: vu.iterationInTest,
        // One instance: the instance's counts are the test's.
        iterationInInstance: vu.iterationInTest,
      },
      'exec.scenario',
    );
  },
  get vu() {
    assignment();
    return strict(
      {
        idInTest: vu.id,
        idInInstance: vu.id,
        iterationInScenario: vu.iterationInScenario,
        iterationInInstance: vu.iterationInInstance,
      },
      'exec.vu',
    );
  },
};

export default strict(exec, 'exec');
