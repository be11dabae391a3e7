/** Every Task state of each day-two operation, and every compensation state of each operation's own rollback (test/deploy/stops.ts). */
import { stopMatrix } from '../deploy/stops';

stopMatrix();
