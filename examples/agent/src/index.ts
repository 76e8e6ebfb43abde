export { type Agent, type AgentCall, type CreateAgentParameters, createAgent } from "./agent.js";
