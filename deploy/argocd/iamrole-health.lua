-- Argo CD health check for iam.rolesmith.dev/IamRole.
-- rolesmith writes kstatus conditions: Ready, Reconciling, Stalled, plus observedGeneration.
-- Argo CD runs this with Lua 5.1 semantics: `obj` is the live object, the chunk returns hs.

-- Ready=False reasons the operator retries on its own (Category::is_retryable in src/error.rs):
-- Progressing, not Degraded. The operator also sets Reconciling=True then; this table covers
-- statuses written without it. Any other reason needs a human.
local transient = {
  IamTransient = true,
  IamAccessDenied = true,
  KubeApiError = true,
  InternalError = true,
  Reconciling = true,
  Progressing = true,
}

local function condition(conditions, kind)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function text(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

local function health(o)
  local status = o.status
  if status == nil then
    return "Progressing", "Waiting for rolesmith to reconcile this IamRole"
  end
  local generation = o.metadata and o.metadata.generation
  local observed = status.observedGeneration
  if observed == nil or (generation ~= nil and observed < generation) then
    return "Progressing", "Waiting for rolesmith to observe generation " .. tostring(generation)
  end

  local stalled = condition(status.conditions, "Stalled")
  if stalled ~= nil and stalled.status == "True" then
    return "Degraded", text(stalled, "Stalled")
  end
  local reconciling = condition(status.conditions, "Reconciling")
  if reconciling ~= nil and reconciling.status == "True" then
    return "Progressing", text(reconciling, "Reconciling")
  end
  local ready = condition(status.conditions, "Ready")
  if ready == nil or ready.status == "Unknown" then
    return "Progressing", text(ready, "Waiting for the Ready condition")
  end
  if ready.status == "True" then
    local fallback = "IAM role is up to date"
    if status.roleArn ~= nil then
      fallback = "IAM role " .. status.roleArn .. " is up to date"
    end
    if ready.message ~= nil and ready.message ~= "" then
      return "Healthy", ready.message
    end
    return "Healthy", fallback
  end
  if ready.reason ~= nil and transient[ready.reason] then
    return "Progressing", text(ready, ready.reason)
  end
  return "Degraded", text(ready, "Not ready")
end

local hs = {}
hs.status, hs.message = health(obj)
return hs
