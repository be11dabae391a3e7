/** The onboarding's stops, the sweeper, the cleanup's refusals, the redrives and the timed-out run (test/deploy/stops.ts). */
import { stoppedExecutions } from './stops';

stoppedExecutions();
