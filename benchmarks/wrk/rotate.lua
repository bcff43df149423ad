-- Each wrk thread loads the script into its own Lua state and takes every n-th
-- line of the data file: no two connections of one run ever send the same line.
-- Lines: ``TOKEN`` or ``TOKEN NOTIFICATION_ID``. api_runs.py fills in the data
-- file's path, the thread count and the GET path (the double-underscored names).

local lines = {}
for line in io.lines("__DATA__") do lines[#lines + 1] = line end
local step = __THREADS__
local index = nil
local wrapped = false
function request()
  if index == nil then index = tid + 1 end
  if index > #lines then index = tid + 1; wrapped = true end
  local token, id = lines[index]:match("^(%S+)%s*(%S*)$")
  index = index + step
  if wrapped then repeats = repeats + 1 end
  local headers = {["Authorization"] = "Bearer " .. token}
  if id ~= "" then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/v1/me/notifications/" .. id .. "/response", headers,
                      '{"clip_ids": []}')
  end
  return wrk.format("GET", "__PATH__", headers)
end
