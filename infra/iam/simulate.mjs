// Runs IAM simulations for infra/iam/check.py with @cloud-copilot/iam-simulate (AWS's evaluation logic:
// identity and resource policies, every condition operator, and validation of each action, of the
// resource ARN against the action's resource types, and of the context keys, from AWS's own IAM data).
//
//   node infra/iam/simulate.mjs <input.json>     prints the results as JSON
//
// Input: {"requests": [Request…], "grants": [{"principal", "policy", "candidates": [Request…]}…]}
// where a Request is {"principal", "action", "resource", "account", "context", "identityPolicies",
// "resourcePolicy"}. Output: {"requests": [{"result", "errors"}…], "grants": [index of the first candidate
// the grant's policy alone allows, or null…]}.
import { readFileSync } from 'node:fs'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'))

async function simulate(request, identityPolicies, resourcePolicy) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.account },
      contextVariables: request.context ?? {}
    },
    identityPolicies: identityPolicies.map((policy, i) => ({ name: `policy${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: resourcePolicy ?? undefined
  }
  const outcome = await runSimulation(simulation, {})
  return { result: outcome.overallResult ?? null, errors: outcome.errors ?? null }
}

const requests = []
for (const request of input.requests) {
  requests.push(await simulate(request, request.identityPolicies, request.resourcePolicy))
}

const grants = []
for (const grant of input.grants) {
  let used = null
  for (const [i, candidate] of grant.candidates.entries()) {
    // The grant alone, as the caller's only policy (no resource policy: the grant must do the allowing).
    const { result } = await simulate({ ...candidate, principal: grant.principal }, [grant.policy], undefined)
    if (result === 'Allowed') {
      used = i
      break
    }
  }
  grants.push(used)
}

process.stdout.write(JSON.stringify({ requests, grants }))
