import { envProperties, propertyList } from "@sgprop/gym/testing";
import { makeThermostat } from "./thermostat.js";

const props = envProperties(makeThermostat, { maxLength: 16 });
for (const p of propertyList(props)) {
  p.assert({ numRuns: 25 }); // throws with the shrunk seed, actions and a replay line on failure
  console.log(`ok  ${p.name}: ${p.description}`);
}
