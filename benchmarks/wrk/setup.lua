-- Every script starts here: ``setup`` numbers the threads (each takes every n-th
-- data line) and keeps them, so ``done`` can add up their late sends.

local counter = 0
local all_threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  all_threads[#all_threads + 1] = thread
end
late = 0
paced = 0
repeats = 0
