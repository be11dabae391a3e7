#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildApp } from '../app';

buildApp(new App());
