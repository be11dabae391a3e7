/** The shared operator model on 101 applications: the 11th, 17th and 101st checked one by one (test/workflow/shared-operator.ts). */
import { sharedOperatorSuite } from '../workflow/shared-operator';

sharedOperatorSuite(101);
