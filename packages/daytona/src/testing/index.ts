/** `@sandport/daytona/testing`: a fake of the Daytona API (msw handlers + a loopback log WebSocket). */
export {
  createDaytonaFake,
  DaytonaFake,
  type DaytonaFakeFault,
  type DaytonaFakeOptions,
  type DaytonaFakeRoute,
  type RecordedDaytonaCall,
} from "./daytona-fake.ts";
export {
  createLocalMachines,
  type FakeMachine,
  type FakeMachineFactory,
  type MachineCommand,
} from "./fake-sandbox-machine.ts";
